// A time slider with a play button that moves one marker per track along its positions.
//
// Tracks are {mmsi, color, coords: [[lon, lat], ...], times: [ms, ...]} with times ascending.
// The marker of a track sits at the position interpolated at the slider's time; before a
// track's first fix or after its last it stays at that end, drawn faded.

import { fmtTime } from "./format.js";

const STEPS = 1000; // slider resolution
const PLAY_SECONDS = 20; // a whole track plays in this many seconds

/** Index i with times[i] <= t < times[i + 1] (clamped to the ends). */
function bracket(times, t) {
  let lo = 0;
  let hi = times.length - 1;
  if (t <= times[0]) return 0;
  if (t >= times[hi]) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= t) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Position of a track at time t: {lon, lat, inside, index}. */
export function positionAt(track, t) {
  const { coords, times } = track;
  const n = times.length;
  if (n === 0) return null;
  if (t <= times[0])
    return { lon: coords[0][0], lat: coords[0][1], inside: t === times[0], index: 0 };
  if (t >= times[n - 1]) {
    return {
      lon: coords[n - 1][0],
      lat: coords[n - 1][1],
      inside: t === times[n - 1],
      index: n - 1,
    };
  }
  const i = bracket(times, t);
  const f = (t - times[i]) / (times[i + 1] - times[i] || 1);
  const [x0, y0] = coords[i];
  let [x1, y1] = coords[i + 1];
  if (x1 - x0 > 180)
    x1 -= 360; // the short way round the antimeridian
  else if (x0 - x1 > 180) x1 += 360;
  let lon = x0 + (x1 - x0) * f;
  if (lon > 180) lon -= 360;
  else if (lon < -180) lon += 360;
  return { lon, lat: y0 + (y1 - y0) * f, inside: true, index: f < 0.5 ? i : i + 1 };
}

export class Player {
  /**
   * @param {HTMLElement} root  where the controls go
   * @param {object} opts  {tracks, onChange(features, t), label}
   */
  constructor(root, { tracks, onChange, label = "Track time" }) {
    this.tracks = tracks.filter((tr) => tr.times.length > 0);
    this.onChange = onChange;
    this.t0 = Math.min(...this.tracks.map((tr) => tr.times[0]));
    this.t1 = Math.max(...this.tracks.map((tr) => tr.times[tr.times.length - 1]));
    this.playing = false;
    this.raf = 0;

    const id = `player-${Math.random().toString(36).slice(2, 8)}`;
    root.innerHTML = `
      <div class="player">
        <button type="button" class="play" aria-label="Play" aria-pressed="false">▶</button>
        <label for="${id}" class="visually-hidden">${label}</label>
        <input id="${id}" class="slider" type="range" min="0" max="${STEPS}" step="any" value="0" />
        <output class="player-time" for="${id}"></output>
      </div>
      <p class="player-fix"></p>`;
    this.button = root.querySelector(".play");
    this.slider = root.querySelector(".slider");
    this.out = root.querySelector(".player-time");
    this.fix = root.querySelector(".player-fix");
    this.slider.addEventListener("input", () => {
      this.stop();
      this.update();
    });
    this.button.addEventListener("click", () => (this.playing ? this.stop() : this.play()));
    this.update();
  }

  get time() {
    return this.t0 + ((this.t1 - this.t0) * Number(this.slider.value)) / STEPS;
  }

  /** Move the slider to a time (ms) and redraw. */
  seek(t) {
    const span = this.t1 - this.t0 || 1;
    this.slider.value = String(Math.round(((t - this.t0) / span) * STEPS));
    this.update();
  }

  /** The markers at the current time, as GeoJSON Point features. */
  features() {
    const t = this.time;
    return this.tracks
      .map((tr) => {
        const p = positionAt(tr, t);
        if (!p) return null;
        return {
          type: "Feature",
          geometry: { type: "Point", coordinates: [p.lon, p.lat] },
          properties: { mmsi: tr.mmsi, color: tr.color, inside: p.inside, index: p.index },
        };
      })
      .filter(Boolean);
  }

  update() {
    const t = this.time;
    this.out.textContent = fmtTime(t);
    const feats = this.features();
    if (this.tracks.length === 1 && feats.length === 1) {
      const tr = this.tracks[0];
      const i = feats[0].properties.index;
      const sog = tr.sog?.[i];
      const cog = tr.cog?.[i];
      this.fix.textContent =
        `Nearest fix ${fmtTime(tr.times[i])}` +
        (sog !== undefined && sog !== null ? `, ${Number(sog).toFixed(1)} kn` : "") +
        (cog !== undefined && cog !== null ? `, course ${Math.round(cog)}°` : "");
    } else {
      this.fix.textContent = "";
    }
    this.onChange?.(feats, t);
  }

  play() {
    if (Number(this.slider.value) >= STEPS) this.slider.value = "0";
    this.playing = true;
    this.button.textContent = "❚❚";
    this.button.setAttribute("aria-label", "Pause");
    this.button.setAttribute("aria-pressed", "true");
    let last = performance.now();
    const tick = (now) => {
      if (!this.playing) return;
      const dv = ((now - last) / 1000 / PLAY_SECONDS) * STEPS;
      last = now;
      const v = Math.min(STEPS, Number(this.slider.value) + Math.max(dv, 0));
      this.slider.value = String(v);
      this.update();
      if (v >= STEPS) this.stop();
      else this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  stop() {
    this.playing = false;
    cancelAnimationFrame(this.raf);
    this.button.textContent = "▶";
    this.button.setAttribute("aria-label", "Play");
    this.button.setAttribute("aria-pressed", "false");
  }

  destroy() {
    this.stop();
  }
}

// The events timeline: one lane per event type, one bar per event from start to end, over
// the data's time span. Drag to choose a time window, double-click to clear it, click a bar
// to open the event.

import { EVENT_TYPES, eventColor, eventLabel, fmtTime } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const LANE_H = 11;
const AXIS_H = 16;
const LABEL_W = 86;

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

export class Timeline {
  /**
   * @param {SVGSVGElement} svg
   * @param {object} opts  {onWindow(startMs|null, endMs|null), onPick(event)}
   */
  constructor(svg, { onWindow, onPick }) {
    this.svg = svg;
    this.onWindow = onWindow;
    this.onPick = onPick;
    this.domain = null;
    this.events = [];
    this.window = null;
    this.cursor = null;
    this.drag = null;
    svg.addEventListener("pointerdown", (e) => this.down(e));
    svg.addEventListener("pointermove", (e) => this.move(e));
    svg.addEventListener("pointerup", (e) => this.up(e));
    svg.addEventListener("dblclick", () => this.onWindow?.(null, null));
    new ResizeObserver(() => this.render()).observe(svg);
  }

  setDomain(t0, t1) {
    if (Number.isFinite(t0) && Number.isFinite(t1) && t1 > t0) this.domain = [t0, t1];
    this.render();
  }

  setEvents(events) {
    this.events = events;
    this.render();
  }

  setWindow(t0, t1) {
    this.window = t0 === null && t1 === null ? null : [t0, t1];
    this.render();
  }

  setCursor(t) {
    this.cursor = t;
    this.renderCursor();
  }

  get width() {
    return this.svg.clientWidth || 340;
  }

  x(t) {
    const [t0, t1] = this.domain;
    return LABEL_W + ((t - t0) / (t1 - t0)) * (this.width - LABEL_W - 4);
  }

  t(x) {
    const [t0, t1] = this.domain;
    const f = (x - LABEL_W) / (this.width - LABEL_W - 4);
    return t0 + Math.min(1, Math.max(0, f)) * (t1 - t0);
  }

  lanes() {
    const present = new Set(this.events.map((e) => e.type));
    return EVENT_TYPES.map((t) => t.id).filter((id) => present.has(id));
  }

  render() {
    const svg = this.svg;
    svg.replaceChildren();
    let domain = this.domain;
    if (!domain && this.events.length) {
      const s = this.events.map((e) => Date.parse(e.start));
      const e = this.events.map((ev) => Date.parse(ev.end));
      domain = [Math.min(...s), Math.max(...e)];
      if (domain[1] <= domain[0]) domain[1] = domain[0] + 3.6e6;
      this.domain = domain;
    }
    const lanes = this.lanes();
    const height = AXIS_H + Math.max(1, lanes.length) * LANE_H + 4;
    svg.setAttribute("height", String(height));
    svg.setAttribute("viewBox", `0 0 ${this.width} ${height}`);
    if (!domain) return;

    // axis: start, middle and end times
    const axis = el("g", { class: "tl-axis" }, svg);
    const [t0, t1] = domain;
    for (const [t, anchor] of [
      [t0, "start"],
      [(t0 + t1) / 2, "middle"],
      [t1, "end"],
    ]) {
      const x = this.x(t);
      el("line", { x1: x, x2: x, y1: AXIS_H - 3, y2: height, class: "tl-tick" }, axis);
      const label = el("text", { x, y: AXIS_H - 5, "text-anchor": anchor }, axis);
      label.textContent = fmtTime(t).slice(5);
    }

    if (this.window) {
      const [w0, w1] = this.window;
      const a = this.x(w0 ?? t0);
      const b = this.x(w1 ?? t1);
      el(
        "rect",
        {
          x: Math.min(a, b),
          y: AXIS_H - 2,
          width: Math.abs(b - a),
          height: height - AXIS_H + 2,
          class: "tl-window",
        },
        svg,
      );
    }

    lanes.forEach((type, i) => {
      const y = AXIS_H + i * LANE_H;
      const label = el("text", { x: 2, y: y + LANE_H - 2, class: "tl-label" }, svg);
      label.textContent = eventLabel(type);
      const g = el("g", { fill: eventColor(type) }, svg);
      for (const ev of this.events) {
        if (ev.type !== type) continue;
        const a = this.x(Date.parse(ev.start));
        const b = this.x(Date.parse(ev.end));
        const bar = el(
          "rect",
          { x: a, y: y + 2, width: Math.max(2, b - a), height: LANE_H - 3, class: "tl-bar" },
          g,
        );
        bar.dataset.eventId = ev.event_id;
        const title = el("title", {}, bar);
        title.textContent = `${eventLabel(ev.type)} ${fmtTime(ev.start)} – ${fmtTime(ev.end)}`;
      }
    });
    this.cursorLine = el("line", { class: "tl-cursor", y1: AXIS_H - 3, y2: height }, svg);
    this.renderCursor();
  }

  renderCursor() {
    if (!this.cursorLine || !this.domain) return;
    if (this.cursor === null || this.cursor === undefined) {
      this.cursorLine.setAttribute("visibility", "hidden");
      return;
    }
    const x = this.x(this.cursor);
    this.cursorLine.setAttribute("x1", String(x));
    this.cursorLine.setAttribute("x2", String(x));
    this.cursorLine.setAttribute("visibility", "visible");
  }

  localX(e) {
    const r = this.svg.getBoundingClientRect();
    return e.clientX - r.left;
  }

  down(e) {
    if (!this.domain || e.button !== 0) return;
    this.drag = { x0: this.localX(e), moved: false, target: e.target };
    this.svg.setPointerCapture(e.pointerId);
  }

  move(e) {
    if (!this.drag) return;
    const x = this.localX(e);
    if (Math.abs(x - this.drag.x0) > 3) this.drag.moved = true;
    if (this.drag.moved) {
      const a = this.t(this.drag.x0);
      const b = this.t(x);
      this.window = [Math.min(a, b), Math.max(a, b)];
      this.render();
    }
  }

  up(e) {
    if (!this.drag) return;
    const { moved, target } = this.drag;
    this.drag = null;
    this.svg.releasePointerCapture(e.pointerId);
    if (moved && this.window) {
      this.onWindow?.(this.window[0], this.window[1]);
    } else if (target?.dataset?.eventId) {
      const ev = this.events.find((x) => x.event_id === target.dataset.eventId);
      if (ev) this.onPick?.(ev);
    }
  }
}

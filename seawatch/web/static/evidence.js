// An event's evidence as the map draws it: each vessel's positions and track in its own
// colour, the positions of the event's own period emphasised, and for an AIS gap the silence
// as a dashed line from the last position before it to the first after, with the track
// solid on either side (never one solid line across hours without a position).

/**
 * The evidence features of `GET /events/{id}` ready for the map's `evidence` source.
 *
 * @param {object[]} features  the API's evidence: Points (mmsi, ts, sog, cog) and one
 *   LineString per vessel (mmsi, kind "track", times)
 * @param {object} event  the event (type, mmsi, start, end, details)
 * @param {(mmsi: number) => string} colorOf  each vessel's colour
 * @returns {object[]} Points with `color` and `during` (inside the event's period); solid
 *   LineStrings with `color`; for a gap, its vessel's track cut in two (`part` "before" and
 *   "after") and a LineString with `gap: true` between them.
 */
export function evidenceFeatures(features, event, colorOf) {
  const t0 = Date.parse(event.start);
  const t1 = Date.parse(event.end);
  const out = [];
  for (const f of features ?? []) {
    const mmsi = Number(f.properties?.mmsi);
    const color = colorOf(mmsi) ?? "#333";
    const type = f.geometry?.type;
    if (type === "LineString" && event.type === "gap" && mmsi === Number(event.mmsi)) {
      out.push(...splitAtGap(f, event, t0, t1, color));
      continue;
    }
    const ts = f.properties?.ts ? Date.parse(f.properties.ts) : NaN;
    const during = type === "Point" && ts >= t0 && ts <= t1;
    out.push({ ...f, properties: { ...f.properties, color, during } });
  }
  return out;
}

/** A gap vessel's track: solid before the gap and after it, dashed across it. */
function splitAtGap(track, event, t0, t1, color) {
  const coords = track.geometry.coordinates ?? [];
  const times = (track.properties?.times ?? []).map((t) => Date.parse(t));
  const line = (points, extra) => ({
    type: "Feature",
    geometry: { type: "LineString", coordinates: points },
    properties: { mmsi: track.properties.mmsi, kind: "track", color, ...extra },
  });
  if (times.length !== coords.length) return [line(coords, {})]; // no times: as it came
  const iso = track.properties.times;
  const pick = (keep) => {
    const idx = times.flatMap((t, i) => (keep(t) ? [i] : []));
    return [idx.map((i) => coords[i]), idx.map((i) => iso[i])];
  };
  const [before, beforeTimes] = pick((t) => t <= t0);
  const [after, afterTimes] = pick((t) => t >= t1);
  const out = [];
  if (before.length > 1) out.push(line(before, { part: "before", times: beforeTimes }));
  if (after.length > 1) out.push(line(after, { part: "after", times: afterTimes }));
  // the detector's own last and first positions when it recorded them
  const d = event.details ?? {};
  const at = (lon, lat) => (Number.isFinite(lon) && Number.isFinite(lat) ? [lon, lat] : null);
  const off = at(d.off_lon, d.off_lat) ?? before.at(-1);
  const on = at(d.on_lon, d.on_lat) ?? after[0];
  if (off && on) out.push(line([off, on], { gap: true }));
  return out;
}

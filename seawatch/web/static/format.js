// Formatting for the seawatch map: times, numbers with units, ship-type classes, and the
// one-line explanation and figures table of each event type (what the detector measured).

/** Ship-type classes drawn on the map, in legend order. `codes` are ITU-R M.1371 codes. */
export const SHIP_CLASSES = [
  { id: "fishing", label: "Fishing", color: "#e4572e" },
  { id: "cargo", label: "Cargo", color: "#2e86ab" },
  { id: "tanker", label: "Tanker", color: "#7b2d8b" },
  { id: "passenger", label: "Passenger / pleasure", color: "#2a9d3f" },
  { id: "other", label: "Other / unknown", color: "#6c757d" },
];

/** The class of an ITU ship-and-cargo type code (null: other). */
export function shipClass(code) {
  if (code === null || code === undefined) return "other";
  const c = Number(code);
  if (c === 30) return "fishing";
  if (c >= 70 && c <= 79) return "cargo";
  if (c >= 80 && c <= 89) return "tanker";
  if ((c >= 60 && c <= 69) || c === 36 || c === 37) return "passenger";
  return "other";
}

/** Event types (DESIGN.md), with a label and a colour each (white text on each colour has a
contrast of at least 4.5:1, WCAG AA). */
export const EVENT_TYPES = [
  { id: "encounter", label: "Encounter", color: "#d62828" },
  { id: "loitering", label: "Loitering", color: "#b45309" },
  { id: "gap", label: "AIS gap", color: "#343a40" },
  { id: "spoofing", label: "Spoofing", color: "#9d0208" },
  { id: "fishing_in_zone", label: "Fishing in zone", color: "#c2410c" },
  { id: "zone_entry", label: "Zone entry", color: "#0077b6" },
  { id: "zone_exit", label: "Zone exit", color: "#0e7c86" },
  { id: "port_visit", label: "Port visit", color: "#4f7550" },
  { id: "fishing", label: "Fishing", color: "#9a5b1e" },
  { id: "route_anomaly", label: "Route anomaly", color: "#7209b7" },
  { id: "identity_change", label: "Identity change", color: "#5a189a" },
  { id: "invalid_identity", label: "Invalid identity", color: "#6b4226" },
  { id: "type_mismatch", label: "Type mismatch", color: "#8a5a00" },
  { id: "watchlist_hit", label: "Watchlist hit", color: "#a4133c" },
  { id: "dark_rendezvous", label: "Dark rendezvous", color: "#3c096c" },
  { id: "loiter_gap_loiter", label: "Loiter-gap-loiter", color: "#6f1d1b" },
  { id: "dark_near_encounter", label: "Dark near encounter", color: "#1d3557" },
];
export const EVENT_TYPE = Object.fromEntries(EVENT_TYPES.map((t) => [t.id, t]));

/**
 * Event types (with their names in the plural) left out of the list, the map and the
 * timeline until asked for: records of
 * ordinary movement (a vessel crossing a zone's line, calling at a port), not suspicion. On a
 * day of traffic off Ecuador they are 3,731 of 3,795 events; the list says how many are
 * hidden and shows them on request, and their boxes in the type filter bring them back.
 */
export const ROUTINE = {
  zone_entry: "zone entries",
  zone_exit: "zone exits",
  port_visit: "port visits",
};
export const ROUTINE_TYPES = Object.keys(ROUTINE);

export function eventLabel(type) {
  return EVENT_TYPE[type]?.label ?? String(type);
}

/** Colour of an event of a type format.js does not know. */
export const OTHER_EVENT_COLOR = "#555";

export function eventColor(type) {
  return EVENT_TYPE[type]?.color ?? OTHER_EVENT_COLOR;
}

// ---------------------------------------------------------------- times and numbers

/** "2026-01-15 03:20Z" from an ISO string, a Date or epoch milliseconds. */
export function fmtTime(value, { seconds = false } = {}) {
  if (value === null || value === undefined || value === "") return "–";
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, seconds ? 19 : 16)}Z`;
}

/** "2026-01-15 03:20" (UTC, 24 h): how the time window fields show a time. */
export function fmtInputTime(value) {
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString().slice(0, 16).replace("T", " ");
}

/** ISO 8601 dates and times as typed in the time window fields (UTC, 24 h). */
const UTC_INPUT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?\s*(?:Z|UTC)?$/i;

/** What the time window fields accept, in words (for hints and errors). */
export const TIME_INPUT_HINT = "YYYY-MM-DD HH:MM (UTC, 24 h)";

/**
 * A time typed in a time window field, read as UTC whatever the browser's locale:
 * "2026-01-15", "2026-01-15 13:05", "2026-01-15T13:05:30Z". Returns {ms} (null for an empty
 * field) or {error} saying what is wrong ("01/15/2026", "2026-02-30", "2026-01-15 25:00").
 */
export function parseTimeInput(text) {
  const s = String(text ?? "").trim();
  if (!s) return { ms: null };
  const m = UTC_INPUT.exec(s);
  if (!m) return { error: `"${s}" is not a time: write it as ${TIME_INPUT_HINT}` };
  const [y, mo, d, h, mi, sec] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec);
  const back = new Date(ms);
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    sec > 59
  ) {
    return { error: `"${s}": no such date or time; write it as ${TIME_INPUT_HINT}` };
  }
  return { ms };
}

/** A duration in hours as "3.2 h", "45 min" or "2.1 d". */
export function fmtHours(h) {
  if (h === null || h === undefined || Number.isNaN(Number(h))) return "–";
  const v = Number(h);
  if (v < 1) return `${Math.round(v * 60)} min`;
  if (v >= 48) return `${(v / 24).toFixed(1)} d`;
  return `${v.toFixed(1)} h`;
}

/** A number with sensible precision for its size. */
export function fmtNumber(v, digits) {
  if (v === null || v === undefined || v === "") return "–";
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  if (digits === undefined) {
    const a = Math.abs(n);
    digits = Number.isInteger(n) ? 0 : a >= 100 ? 0 : a >= 10 ? 1 : 2;
  }
  return n.toLocaleString("en-GB", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A time in seconds as "45 s", "12 min" or "3.5 h". */
export function fmtSeconds(s) {
  const v = Number(s);
  if (s === null || s === undefined || !Number.isFinite(v)) return "–";
  if (v < 90) return `${fmtNumber(v)} s`;
  return fmtHours(v / 3600);
}

/** Kilometres in a nautical mile (by definition). */
export const KM_PER_NM = 1.852;

/**
 * A distance at sea measured in kilometres, in nautical miles ("246 nm"): sentences about
 * vessels speak nautical miles and knots only (metres only for a pair's separation, which is
 * under a nautical mile).
 */
export function fmtNm(km) {
  if (km === null || km === undefined || km === "" || !Number.isFinite(Number(km))) return "–";
  return `${fmtNumber(Number(km) / KM_PER_NM)} nm`;
}

export function fmtCount(n) {
  if (n === null || n === undefined) return "–";
  return Number(n).toLocaleString("en-GB");
}

export function fmtLatLon(lat, lon) {
  if (lat === null || lat === undefined || lon === null || lon === undefined) return "–";
  const la = `${Math.abs(lat).toFixed(4)}°${lat < 0 ? "S" : "N"}`;
  const lo = `${Math.abs(lon).toFixed(4)}°${lon < 0 ? "W" : "E"}`;
  return `${la} ${lo}`;
}

// ---------------------------------------------------------------- event details

/**
 * Known `details` keys: label, unit and format. Keys not listed here are shown too, with a
 * unit guessed from their suffix (`_m`, `_km`, `_nm`, `_kn`, `_h`).
 */
const DETAIL_FIELDS = {
  // encounter
  median_distance_m: ["Median distance between the vessels", "m"],
  duration_h: ["Duration", "h"],
  mmsi_median_speed_kn: ["Median speed, first vessel", "kn"],
  other_median_speed_kn: ["Median speed, second vessel", "kn"],
  distance_from_shore_km: ["Distance from shore", "km"],
  distance_from_port_km: ["Distance from nearest port", "km"],
  close_samples: ["10-minute samples within range", ""],
  pieces: ["Close runs merged", ""],
  sailed_in_company_before_h: ["Sailed in company before", "h"],
  sailed_in_company_after_h: ["Sailed in company after", "h"],
  merged_encounters: ["Meetings of the pair merged", ""],
  longest_gap_h: ["Longest time between two meetings", "h"],
  // loitering
  mean_speed_kn: ["Mean speed", "kn"],
  distance_from_shore_nm: ["Distance from shore", "nm"],
  positions: ["Positions", ""],
  slow_runs: ["Stops merged into the episode", ""],
  stops: ["Stops", "stops"],
  // gap
  gap_hours: ["Time without AIS", "h"],
  distance_km: ["Distance", "km"],
  implied_speed_kn: ["Implied speed across the gap", "kn"],
  off_distance_from_shore_km: ["Distance from shore when it went dark", "km"],
  positions_12h_before: ["Positions in the 12 h before", ""],
  likely_intentional: ["Likely intentional", "bool"],
  off_lat: ["Last position before the gap, lat", "deg"],
  off_lon: ["Last position before the gap, lon", "deg"],
  on_lat: ["First position after the gap, lat", "deg"],
  on_lon: ["First position after the gap, lon", "deg"],
  off_segment_id: ["Track before the gap", "segment"],
  on_segment_id: ["Track after the gap", "segment"],
  coverage: ["Coverage around the vessel", "text"],
  coverage_note: ["Coverage, in words", "text"],
  feeds: ["Feeds that heard the vessel", "list"],
  watched_h: ["Silent hours the feeds kept hearing others around it", "h"],
  outage_h: ["Silent hours of coverage outage (not counted)", "h"],
  unknown_h: ["Silent hours of unknown coverage", "h"],
  feed_interval_s: ["The feed's usual interval between reports", "s"],
  // zones
  zone_kind: ["Zone kind", "zone_kind"],
  minutes_since_previous: ["Minutes since previous position", "min"],
  zones: ["Zones fished in", "list"],
  flag: ["Flag", "text"],
  zone_state: ["Zone's coastal state", "text"],
  hours: ["Time at fishing speed in zone", "h"],
  median_speed_kn: ["Median speed", "kn"],
  fishing_positions: ["Positions at fishing speed", ""],
  // port visit
  port: ["Port", "text"],
  port_kind: ["Port kind", "text"],
  min_distance_km: ["Closest approach to port", "km"],
  open: ["Visit open at an edge of the data", "bool"],
  open_start: ["Open at start", "bool"],
  open_end: ["Open at end", "bool"],
  // spoofing
  kind: ["Kind", "text"],
  n_tracks: ["Tracks sharing the MMSI", ""],
  n_switches: ["Impossible jumps", ""],
  max_implied_speed_kn: ["Highest implied speed", "kn"],
  max_separation_km: ["Largest separation", "km"],
  tracks: ["Tracks (evidence)", "tracks"],
  // at a fixed installation (any type the installations step lowers)
  installation: ["At an installation", "installation"],
};

const UNIT_SUFFIX = [
  ["_m", "m"],
  ["_km", "km"],
  ["_nm", "nm"],
  ["_kn", "kn"],
  ["_hours", "h"],
  ["_h", "h"],
  ["_min", "min"],
  ["_deg", "deg"],
];

/** ``segment_id = mmsi * SEGMENT_ID_FACTOR + k`` (seawatch.tracks.segment): k numbers a
vessel's tracks from 0 in order of their first position. */
const SEGMENT_ID_FACTOR = 100000;

/** A track id as words: "track 1" (the vessel's first track), not 73546700000000. */
function trackLabel(segmentId) {
  const k = Number(segmentId) % SEGMENT_ID_FACTOR;
  return Number.isFinite(k) ? `track ${k + 1}` : String(segmentId);
}

function humanise(key) {
  const s = key.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const ZONE_KINDS = {
  mpa: "marine protected area",
  eez: "EEZ",
  territorial_sea: "territorial sea",
  internal_waters: "internal waters",
  archipelagic_waters: "archipelagic waters",
};

/** A zone kind in words ("eez" -> "EEZ"). */
export function zoneKind(kind) {
  return ZONE_KINDS[kind] ?? String(kind ?? "").replace(/_/g, " ");
}

function formatValue(value, unit) {
  if (value === null || value === undefined) return "–";
  switch (unit) {
    case "bool":
      return value ? "yes" : "no";
    case "list":
      return Array.isArray(value) ? value.join(", ") : String(value);
    case "zone_kind":
      return zoneKind(value);
    case "text":
      return String(value).replace(/_/g, " ");
    case "s":
      return typeof value === "number" ? fmtSeconds(value) : String(value);
    case "segment":
      return trackLabel(value);
    case "tracks":
      // spoofing evidence: each track's reports within the episode
      if (!Array.isArray(value)) return String(value);
      return value
        .map((t) => `${trackLabel(t.segment_id)}: ${t.positions} reports, ${t.start} to ${t.end}`)
        .join("; ");
    case "stops":
      // loitering: each slow run merged into the episode, where and when
      if (!Array.isArray(value)) return String(value);
      return value
        .map((p) => `${fmtTime(p.start)} to ${fmtTime(p.end)} at ${fmtLatLon(p.lat, p.lon)} ` +
          `(${fmtCount(p.positions)} positions, ${fmtNumber(p.mean_speed_kn)} kn)`)
        .join("; ");
    case "km":
      // at sea in nautical miles, with the kilometres the detector measured (and exports)
      if (typeof value !== "number") return String(value);
      return `${fmtNm(value)} (${fmtNumber(value)} km)`;
    case "deg":
      return `${fmtNumber(value, 4)}°`;
    case "installation":
      // details.installation: {name, kind, source, distance_km, score_before}
      if (typeof value !== "object") return String(value);
      return joinParts([
        value.name ?? "unnamed",
        value.kind && String(value.kind).replace(/_/g, " "),
        value.distance_km !== undefined && `${fmtNm(value.distance_km)} away`,
        value.score_before !== undefined && `score before ${fmtNumber(value.score_before, 2)}`,
        value.source && `from ${value.source}`,
      ]);
    case "h":
      return `${fmtNumber(value, 2)} h`;
    case "":
      return typeof value === "number" ? fmtNumber(value) : String(value);
    default:
      if (typeof value !== "number") return String(value);
      return `${fmtNumber(value)} ${unit}`;
  }
}

/**
 * The rows of an event's figures table: [{key, label, value}] with units, known keys first in
 * a stable order, then the others.
 */
export function detailRows(details, type = null) {
  if (!details || typeof details !== "object") return [];
  const keys = Object.keys(details);
  const known = Object.keys(DETAIL_FIELDS).filter((k) => keys.includes(k));
  const other = keys.filter((k) => !(k in DETAIL_FIELDS)).sort();
  return [...known, ...other].map((key) => {
    let label;
    let unit;
    if (key in DETAIL_FIELDS) {
      [label, unit] = DETAIL_FIELDS[key];
      label = TYPE_LABELS[type]?.[key] ?? label;
    } else {
      label = humanise(key);
      unit = UNIT_SUFFIX.find(([suffix]) => key.endsWith(suffix))?.[1] ?? "";
      const v = details[key];
      if (typeof v === "boolean") unit = "bool";
      else if (Array.isArray(v)) {
        unit = v.some((x) => typeof x === "object" && x !== null) ? "json" : "list";
      }
      else if (typeof v === "object" && v !== null) unit = "json";
    }
    const raw = details[key];
    let value = unit === "json" ? JSON.stringify(raw) : formatValue(raw, unit);
    if (key === "on_segment_id" && raw !== null && details.off_segment_id !== undefined) {
      value += raw === details.off_segment_id ? " (the same track)" : " (a new track)";
    }
    return { key, label, value };
  });
}

/** "236 nm from shore", whichever unit the detector measured it in; null: not measured. */
const fromShore = (d) => {
  if (d.distance_from_shore_km !== undefined)
    return `${fmtNm(d.distance_from_shore_km)} from shore`;
  if (d.distance_from_shore_nm !== undefined)
    return `${fmtNumber(d.distance_from_shore_nm)} nm from shore`;
  if (d.off_distance_from_shore_km !== undefined)
    return `${fmtNm(d.off_distance_from_shore_km)} from shore`;
  return null;
};

const fromPort = (d) =>
  d.distance_from_port_km !== undefined && `${fmtNm(d.distance_from_port_km)} from port`;

const hoursBetween = (ev) => {
  const s = Date.parse(ev.start);
  const e = Date.parse(ev.end);
  return Number.isFinite(s) && Number.isFinite(e) ? (e - s) / 3.6e6 : null;
};

const joinParts = (parts) => parts.filter(Boolean).join(", ");

/** One line saying, in words, why an event triggered. */
export function explainEvent(ev) {
  const d = ev.details || {};
  const dur = d.duration_h ?? hoursBetween(ev);
  switch (ev.type) {
    case "encounter":
      return `${joinParts([
        `Two vessels within ${fmtNumber(d.median_distance_m ?? 500)} m (median) for ${fmtHours(dur)}`,
        d.mmsi_median_speed_kn !== undefined &&
          `at ${fmtNumber(d.mmsi_median_speed_kn)} and ${fmtNumber(d.other_median_speed_kn)} kn`,
        fromShore(d),
        fromPort(d),
      ])}.`;
    case "loitering":
      return `${joinParts([
        `One vessel averaging ${fmtNumber(d.mean_speed_kn)} kn for ${fmtHours(dur)}, alone`,
        fromShore(d),
        fromPort(d),
      ])}.`;
    case "gap": {
      const base = `AIS silent for ${fmtHours(d.gap_hours ?? dur)}`;
      return `${joinParts([
        base,
        fromShore(d) && `going dark ${fromShore(d)}`,
        d.distance_km !== undefined &&
          `reappearing ${fmtNm(d.distance_km)} away (${fmtNumber(d.implied_speed_kn)} kn implied)`,
      ])}${d.likely_intentional ? "; likely switched off on purpose" : ""}.`;
    }
    case "zone_entry":
      return `Entered ${ev.zone ?? "a zone"}${d.zone_kind ? ` (${zoneKind(d.zone_kind)})` : ""}.`;
    case "zone_exit":
      return `Left ${ev.zone ?? "a zone"}${d.zone_kind ? ` (${zoneKind(d.zone_kind)})` : ""}.`;
    case "fishing_in_zone":
      return `${joinParts([
        `${d.flag ? `${d.flag}-flagged fishing` : "Fishing"} vessel at fishing speed for ${fmtHours(d.hours ?? dur)}`,
        d.median_speed_kn !== undefined && `median ${fmtNumber(d.median_speed_kn)} kn`,
      ])} inside ${ev.zone ?? "a zone"}, where it may not fish.`;
    case "port_visit":
      return `Stayed ${fmtHours(dur)} at ${d.port ?? "a port"}${
        d.port_kind ? ` (${d.port_kind})` : ""
      }${d.open ? "; the visit runs past an edge of the data" : ""}.`;
    case "spoofing":
      if (d.kind === "position_jump") {
        return `Position jumped ${fmtNm(d.max_separation_km)} and back (${fmtNumber(
          d.max_implied_speed_kn,
        )} kn implied): a faked or wrong position.`;
      }
      return `One MMSI on ${d.n_tracks ?? 2} tracks at once: ${fmtCount(d.n_switches)} impossible jumps, up to ${fmtNm(
        d.max_separation_km,
      )} apart (${fmtNumber(d.max_implied_speed_kn)} kn implied).`;
    case "fishing":
      return `Fishing for ${fmtHours(dur)}.`;
    case "route_anomaly":
      return `A route unlike the area's usual traffic (${fmtHours(dur)}).`;
    case "identity_change": {
      const field = (f) => (f === "callsign" ? "call sign" : String(f).replace(/_/g, " "));
      const changes = (d.changes ?? []).map((c) => `${field(c.field)} ${c.old} to ${c.new}`);
      return `Identity changed: ${changes.join(", ") || "its static data"} (each new value repeated: not a garbled report).`;
    }
    case "invalid_identity": {
      const why = {
        zero: "MMSI 0",
        placeholder: "a placeholder MMSI",
        short: "an MMSI of fewer than nine digits",
        format: "an MMSI of no station format",
        unallocated_mid: `MID ${d.mid ?? "?"}, allocated to no country`,
        imo_check_digit: `IMO ${d.imo ?? "?"}, whose check digit is wrong`,
      };
      const reasons = (d.reasons ?? []).map((r) => why[r] ?? String(r).replace(/_/g, " "));
      return `Transmits under an identity no ship may hold: ${reasons.join(", ") || "invalid"}.`;
    }
    case "type_mismatch":
      return `${joinParts([
        `Declared ${d.ship_type_label ?? "a merchant ship"} yet worked an area for ${fmtHours(d.hours ?? dur)}`,
        d.median_speed_kn !== undefined && `at ${fmtNumber(d.median_speed_kn)} kn`,
        d.straightness !== undefined && d.distance_km !== undefined &&
          `ending ${fmtNumber(d.straightness * 100, 0)} % of the ${fmtNm(d.distance_km)} sailed from where it began`,
      ])}: a fishing vessel's movement.`;
    case "watchlist_hit": {
      const hits = d.hits ?? [];
      const lists = [...new Set(hits.map((h) => h.list_name).filter(Boolean))];
      const by = [...new Set(hits.flatMap((h) => Object.keys(h.matched ?? {})))]
        .map((f) => (f === "callsign" ? "call sign" : f === "mmsi" ? "MMSI" : f === "imo" ? "IMO" : f));
      const reason = hits.find((h) => h.reason)?.reason;
      const flag = hits.some((h) => h.flag_mismatch) ? "; listed under another flag than its MID's" : "";
      return `On ${lists.join(", ") || "a watchlist"}, matched by ${by.join(", ") || "identity"}${reason ? ` (${reason})` : ""}${flag}.`;
    }
    default:
      return `${eventLabel(ev.type)} for ${fmtHours(dur)}.`;
  }
}

// ---------------------------------------------------------------- why this alert

const num = (v) => typeof v === "number" && Number.isFinite(v);
const plural = (n, one, many = `${one}s`) => `${fmtCount(n)} ${n === 1 ? one : many}`;

/** Details keys (of any detector, now or later) that count single reports set aside as
outliers (garbled in the air, ignored by every detector). */
const OUTLIER_KEYS = ["outliers", "outliers_ignored", "outliers_set_aside", "outlier_reports"];

/** Details keys that count other vessels a gap's feeds kept hearing around it. */
const HEARD_KEYS = ["others_heard", "other_vessels_heard", "vessels_heard", "heard_vessels"];

/** What lowered (or set aside, or merged) any event, from the details every type may carry. */
function commonLowered(ev, d) {
  const out = [];
  const inst = d.installation;
  if (inst && typeof inst === "object") {
    const before = num(inst.score_before) ? fmtNumber(inst.score_before, 2) : null;
    out.push(
      `At ${inst.kind ? `${String(inst.kind).replace(/_/g, " ")} ` : "installation "}${
        inst.name ?? "(unnamed)"
      }${num(inst.distance_km) ? `, ${fmtNm(inst.distance_km)} away` : ""}: standing by there is ` +
        `its work, so the score was lowered${
          before ? ` from ${before} to ${fmtNumber(ev.score, 2)}` : ""
        }.`,
    );
  } else if (num(d.score_factor) && d.score_factor < 1) {
    out.push(`Score multiplied by ${fmtNumber(d.score_factor, 2)}.`);
  }
  for (const key of OUTLIER_KEYS) {
    if (num(d[key]) && d[key] > 0) {
      out.push(
        `${plural(d[key], "single report")} inconsistent with both neighbours set aside as ` +
          `outliers (garbled in the air), not counted as evidence.`,
      );
      break;
    }
  }
  return out;
}

/**
 * Why an event was raised and what lowered its score, in plain words, from the figures its
 * detector wrote in `details` (docs/detectors.md): `{raised: [...], lowered: [...]}`, each a
 * list of sentences. A key that is missing (an older run, another version of a detector)
 * leaves its sentence out or says less; keys not read here still show in the figures table.
 */
export function whyAlert(ev) {
  const d = ev.details && typeof ev.details === "object" ? ev.details : {};
  const dur = d.duration_h ?? hoursBetween(ev);
  const raised = [];
  const lowered = [];
  switch (ev.type) {
    case "encounter": {
      raised.push(
        `Two vessels stayed within ${fmtNumber(d.median_distance_m ?? 500)} m of each other ` +
          `(median) for ${fmtHours(dur)}${
            num(d.close_samples) ? `, ${plural(d.close_samples, "grid sample")} close` : ""
          }.`,
      );
      if (num(d.mmsi_median_speed_kn) && num(d.other_median_speed_kn))
        raised.push(
          `Both nearly stopped: median speeds ${fmtNumber(d.mmsi_median_speed_kn)} and ` +
            `${fmtNumber(d.other_median_speed_kn)} kn.`,
        );
      const where = joinParts([fromShore(d), fromPort(d)]);
      if (where) raised.push(`Away from port: ${where}.`);
      const before = num(d.sailed_in_company_before_h) ? d.sailed_in_company_before_h : 0;
      const after = num(d.sailed_in_company_after_h) ? d.sailed_in_company_after_h : 0;
      if (before > 0 || after > 0)
        raised.push(
          `Sailed in company ${fmtHours(before)} before and ${fmtHours(after)} after stopping together.`,
        );
      if (num(d.merged_encounters) && d.merged_encounters > 1)
        lowered.push(
          `${plural(d.merged_encounters, "meeting")} of the same pair merged into this one alert${
            num(d.longest_gap_h) ? ` (at most ${fmtHours(d.longest_gap_h)} apart)` : ""
          }.`,
        );
      if (num(d.pieces) && d.pieces > 1)
        lowered.push(`${plural(d.pieces, "close run")} of the pair joined into one.`);
      break;
    }
    case "loitering":
      raised.push(
        `One vessel averaged ${fmtNumber(d.mean_speed_kn)} kn for ${fmtHours(dur)}, alone ` +
          `(not in an encounter)${num(d.positions) ? `, over ${plural(d.positions, "position")}` : ""}.`,
      );
      if (fromShore(d) || fromPort(d))
        raised.push(`Far from shore and port: ${joinParts([fromShore(d), fromPort(d)])}.`);
      {
        // a newer run lists the stops merged (details.stops); an older one only counts them
        // (slow_runs)
        const stops = Array.isArray(d.stops) ? d.stops : [];
        const n = stops.length ? stops.length : num(d.slow_runs) ? d.slow_runs : 0;
        if (n > 1) {
          const breaks = stops
            .slice(1)
            .map((p, i) => (Date.parse(p.start) - Date.parse(stops[i].end)) / 3.6e6)
            .filter((h) => Number.isFinite(h) && h >= 0);
          lowered.push(
            `${plural(n, "stop")} merged over ${fmtHours(dur)}${
              breaks.length ? ` (interrupted for at most ${fmtHours(Math.max(...breaks))})` : ""
            }: the short moves or silences between them left it where it loitered.`,
          );
        }
      }
      break;
    case "gap": {
      const feeds = Array.isArray(d.feeds) ? d.feeds : [];
      const heardKey = HEARD_KEYS.find((k) => num(d[k]));
      let line = `AIS silent ${fmtHours(d.gap_hours ?? dur)}`;
      if (d.coverage === "heard") {
        line += ` while ${
          feeds.length ? `${plural(feeds.length, "feed")} (${feeds.join(", ")})` : "its feeds"
        } kept hearing ${heardKey ? plural(d[heardKey], "other vessel") : "other vessels"} around its last position`;
        if (num(d.watched_h)) line += ` in ${fmtCount(d.watched_h)} of the silent hours`;
      }
      raised.push(`${line}.`);
      if (num(d.distance_km))
        raised.push(
          `Reappeared ${fmtNm(d.distance_km)} away${
            num(d.implied_speed_kn) ? ` (${fmtNumber(d.implied_speed_kn)} kn implied)` : ""
          }.`,
        );
      if (d.likely_intentional === true)
        raised.push(
          `Likely switched off on purpose: it went dark ${fromShore(d) ?? "far from shore"}${
            num(d.positions_12h_before)
              ? ` with good reception (${plural(d.positions_12h_before, "position")} in the 12 h before)`
              : ""
          }.`,
        );
      else if (d.likely_intentional === false)
        lowered.push(
          `Not judged intentional (went dark near shore, or few positions before it): score 0.5, not 1.`,
        );
      if (d.coverage === "unknown")
        lowered.push(
          `Coverage unknown: ${d.coverage_note ?? "its feeds heard no other vessel around it"}; the score was lowered.`,
        );
      if (num(d.outage_h) && d.outage_h > 0)
        lowered.push(
          `${fmtCount(d.outage_h)} h of the silence were a coverage outage (the feeds heard no one around it) and are not counted.`,
        );
      if (d.coverage === "heard" && num(d.unknown_h) && d.unknown_h > 0)
        lowered.push(`${fmtCount(d.unknown_h)} h of the silence had unknown coverage.`);
      break;
    }
    case "spoofing": {
      const jumps = num(d.n_switches) ? plural(d.n_switches, "impossible jump") : "impossible jumps";
      const far = num(d.max_separation_km) ? ` up to ${fmtNm(d.max_separation_km)} apart` : "";
      const fast = num(d.max_implied_speed_kn)
        ? ` (${fmtNumber(d.max_implied_speed_kn)} kn implied)`
        : "";
      if (d.kind === "position_jump")
        raised.push(`The track left for a place no vessel could reach and came back: ${jumps}${far}${fast}.`);
      else if (d.kind === "shared_identity" || d.kind === undefined)
        raised.push(
          `One MMSI on ${num(d.n_tracks) ? d.n_tracks : "several"} tracks at once (two transmitters): ${jumps}${far}${fast}.`,
        );
      else raised.push(`${humanise(String(d.kind))}: ${jumps}${far}${fast}.`);
      if (Array.isArray(d.tracks) && d.tracks.length)
        raised.push(
          `Each track persisted: ${d.tracks
            .map((t) => `${trackLabel(t.segment_id)} ${plural(t.positions ?? 0, "report")}`)
            .join(", ")}.`,
        );
      if (num(d.n_switches) && d.n_switches > 2 && d.kind !== "position_jump")
        lowered.push(`Every switch of the MMSI's episode is in this one alert, not one each.`);
      break;
    }
    case "fishing_in_zone": {
      raised.push(
        `${d.flag ? `${d.flag}-flagged fishing` : "A fishing"} vessel at fishing speed for ${fmtHours(
          d.hours ?? dur,
        )}${num(d.median_speed_kn) ? ` (median ${fmtNumber(d.median_speed_kn)} kn)` : ""} inside ${
          Array.isArray(d.zones) && d.zones.length ? d.zones.join(", ") : (ev.zone ?? "a zone")
        }.`,
      );
      raised.push(
        d.zone_kind === "mpa"
          ? "Nobody may fish in a marine protected area."
          : `Only vessels of ${d.zone_state ?? "the coastal state"} may fish in its ${zoneKind(d.zone_kind ?? "zone")}.`,
      );
      if (num(d.positions) && num(d.fishing_positions) && d.fishing_positions < d.positions)
        lowered.push(
          `${plural(d.positions - d.fishing_positions, "position")} of ${fmtCount(d.positions)} in the zone were not at fishing speed: the score is the share that was.`,
        );
      break;
    }
    case "port_visit":
      raised.push(
        `Called at ${d.port ?? "a port"}${d.port_kind ? ` (${d.port_kind})` : ""} for ${fmtHours(dur)}${
          num(d.min_distance_km) ? `, closest ${fmtNm(d.min_distance_km)}` : ""
        }.`,
      );
      if (d.open === true) lowered.push("The visit runs past an edge of the data: its length is what the data show.");
      break;
    case "zone_entry":
    case "zone_exit":
      raised.push(
        `${ev.type === "zone_entry" ? "Crossed into" : "Crossed out of"} ${ev.zone ?? "a zone"}${
          d.zone_kind ? ` (${zoneKind(d.zone_kind)})` : ""
        } between two consecutive positions.`,
      );
      if (num(d.minutes_since_previous) && d.minutes_since_previous > 60)
        lowered.push(
          `The previous position was ${fmtHours(d.minutes_since_previous / 60)} earlier: when it crossed is uncertain.`,
        );
      break;
    default:
      raised.push(explainEvent(ev));
  }
  lowered.push(...commonLowered(ev, d));
  return { raised, lowered };
}

/** Labels that depend on the event type (the same key means different things). */
const TYPE_LABELS = {
  gap: { distance_km: "Distance between last and next position" },
  port_visit: {
    distance_km: "Distance from port at arrival",
    positions: "Positions during the visit",
  },
  loitering: { positions: "Positions while loitering" },
  fishing_in_zone: { positions: "Positions in forbidden zones" },
};

/** Escape text for insertion into HTML. */
export function esc(value) {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

// seawatch offline map: vessels, zones, events and the evidence behind each event.
//
// Everything comes from the seawatch API on the same origin (relative URLs); the map style
// has no glyphs, sprites or remote sources, so the page requests nothing from any other host.
// Labels are HTML (popups, panels), vessels and events are GPU-drawn circles from one GeoJSON
// source each.

import {
  EVENT_TYPES,
  ROUTINE,
  ROUTINE_TYPES,
  SHIP_CLASSES,
  detailRows,
  esc,
  eventColor,
  eventLabel,
  explainEvent,
  fmtCount,
  fmtHours,
  fmtInputTime,
  fmtLatLon,
  fmtNumber,
  fmtNm,
  fmtTime,
  parseTimeInput,
  shipClass,
  whyAlert,
  zoneKind,
} from "./format.js";
import { askLogin, showUser, tlpBadge, whoAmI } from "./auth.js";
import { Live } from "./live.js";
import { evidenceFeatures } from "./evidence.js";
import {
  CANDIDATE_COLOR,
  COVERAGE_RAMP,
  EMPTY,
  INSTALLATION_COLOR,
  OUTAGE_COLOR,
  TRACK_COLORS,
  ZONE_COLORS,
  mapStyle,
} from "./mapstyle.js";
import { Player } from "./player.js";
import { Timeline } from "./timeline.js";

const maplibregl = window.maplibregl;
const API = "api/v1";
const PAGE_SIZE = 200; // events per page of the list
const OVERVIEW_MAX = 5000; // events drawn on the map and the timeline
const TRACK_WINDOWS = [
  ["6", "6 h"],
  ["24", "24 h"],
  ["72", "3 d"],
  ["168", "7 d"],
  ["all", "all"],
];
const TRACK_MAX_HOURS = 31 * 24; // the API's longest track window

const $ = (sel) => document.querySelector(sel);

const state = {
  stats: null,
  vessels: EMPTY,
  vesselById: new Map(),
  events: [], // the page listed
  overview: [], // the events on the map and the timeline (all that match, up to OVERVIEW_MAX)
  overviewFeatures: [], // the same events as the API's GeoJSON features
  overviewKey: null,
  total: 0,
  offset: 0,
  hiddenRoutine: 0, // events of the unticked routine types that match the other filters
  filters: {
    types: new Set(EVENT_TYPES.map((t) => t.id).filter((t) => !ROUTINE_TYPES.includes(t))),
    minScore: 0,
    start: null,
    end: null,
    inView: false,
  },
  sources: {}, // the data last given to each map source
  panel: null, // {kind: "vessel"|"event", id}
  player: null,
  eventsRequest: 0,
  outages: [], // the coverage outages in the time window (GET /coverage)
  coverage: null, // the cells heard in the time window (GET /coverage/cells), when shown
  coverageKey: null, // the window the coverage was fetched for
  showCoverage: false, // the coverage layer is toggled on
  pickedOutage: null, // index in state.outages of the outage shaded on the map
  installations: null, // GET /installations
};

// ------------------------------------------------------------------ fetching

async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (response.status === 401) {
    sessionEnded();
    const err = new Error(`${path.split("?")[0]} answered HTTP 401: log in again`);
    err.status = 401;
    throw err;
  }
  if (!response.ok) {
    let detail = "";
    try {
      const body = await response.json();
      detail = body.detail
        ? `: ${typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)}`
        : "";
    } catch {
      /* not JSON */
    }
    throw new Error(`${path.split("?")[0]} answered HTTP ${response.status}${detail}`);
  }
  return response.json();
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === "") continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

let statusTimer = 0;
function showStatus(message, { error = false, sticky = false } = {}) {
  const box = $("#status");
  box.textContent = message;
  box.classList.toggle("error", error);
  box.hidden = false;
  clearTimeout(statusTimer);
  if (!sticky) statusTimer = setTimeout(() => (box.hidden = true), error ? 8000 : 2500);
}

function fail(what, err) {
  if (err?.status === 401) return; // the login form is showing (sessionEnded)
  console.error(`seawatch: ${what}:`, err);
  showStatus(`${what}: ${err.message ?? err}`, { error: true });
}

// ------------------------------------------------------------------ login

let relogin = null;
/**
 * A data call answered 401 (the session ended, expired or was logged out elsewhere): show
 * the login form once; after a login, reload the page so that nothing of the previous
 * session's data stays in memory.
 */
function sessionEnded() {
  if (relogin) return;
  relogin = askLogin("Your session has ended: log in again.").then(() => location.reload());
}

/** After a logout: back to the login form, with none of the data in memory. */
function loggedOut() {
  location.reload();
}

// ------------------------------------------------------------------ map

function createMap() {
  try {
    return new maplibregl.Map({
      container: "map",
      style: mapStyle(),
      center: [-84, -1],
      zoom: 4.4,
      attributionControl: { compact: true, customAttribution: "Land: Natural Earth · seawatch" },
      dragRotate: false,
      pitchWithRotate: false,
    });
  } catch (err) {
    // no WebGL (a very old browser, or graphics disabled): say so where the map would be
    $("#map").innerHTML = `<p class="no-map">The map cannot be drawn in this browser (${esc(
      err.message ?? err,
    )}). It needs WebGL; try a current Firefox, Chrome or Edge.</p>`;
    throw err;
  }
}

const map = createMap();
map.touchZoomRotate.disableRotation();
map.keyboard.disableRotation();
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
map.addControl(new maplibregl.ScaleControl({ unit: "nautical" }), "bottom-right");
map.getCanvas().setAttribute("aria-label", "Map of vessels, zones and events");

const mapLoaded = new Promise((resolve) => map.on("load", resolve));

/** Replace a GeoJSON source's data (kept in state.sources for the debug handle). */
function setData(source, data) {
  state.sources[source] = data;
  map.getSource(source)?.setData(data);
}

/** Padding for fitBounds that keeps the result clear of the side panel. */
function fitPadding() {
  const panel = $("#panel");
  const legend = $("#legend");
  const right = panel.hidden ? 40 : panel.offsetWidth + 40;
  const left =
    legend.offsetWidth && legend.querySelector("details")?.open ? legend.offsetWidth + 30 : 50;
  return { top: 50, bottom: 40, left, right };
}

function boundsOf(features) {
  const b = new maplibregl.LngLatBounds();
  const add = (c) => {
    if (typeof c[0] === "number") b.extend(c);
    else c.forEach(add);
  };
  for (const f of features) if (f.geometry) add(f.geometry.coordinates);
  return b.isEmpty() ? null : b;
}

function fitTo(features, maxZoom = 11) {
  const b = boundsOf(features);
  if (b) map.fitBounds(b, { padding: fitPadding(), maxZoom, duration: 600 });
}

// ------------------------------------------------------------------ legend

function renderLegend() {
  const vessels = SHIP_CLASSES.map(
    (c) => `<li><span class="dot" style="background:${c.color}"></span>${esc(c.label)}</li>`,
  ).join("");
  const zones = [
    ["mpa", "Marine reserve"],
    ["territorial_sea", "Territorial sea"],
    ["eez", "EEZ"],
  ]
    .map(
      ([k, label]) =>
        `<li><span class="dash" style="border-color:${ZONE_COLORS[k]}"></span>${label}</li>`,
    )
    .join("");
  $("#legend").innerHTML = `
    <details open>
      <summary>Legend</summary>
      <h3>Vessels</h3><ul>${vessels}</ul>
      <h3>Events</h3><ul><li><span class="ring"></span>event (colour by type)</li></ul>
      <h3>Tracks</h3><ul>
        <li><span class="line" style="border-color:${TRACK_COLORS[0]}"></span>one colour per vessel</li>
        <li><span class="gap"></span>AIS gap: no position</li>
        <li><span class="marker"></span>replay position</li></ul>
      <h3>Zones</h3><ul>${zones}</ul>
      <h3>Layers</h3><ul class="layers">
        <li><label><input type="checkbox" id="layer-coverage" /> Coverage: cells heard</label></li>
        <li class="coverage-key" hidden><span class="ramp" style="background:linear-gradient(90deg,${COVERAGE_RAMP.map(
          ([, c]) => c,
        ).join(",")})"></span>vessels heard / h: 0 – 100+</li>
        <li class="coverage-key" hidden><span class="dash" style="border-color:${OUTAGE_COLOR}"></span>cell of a feed with an outage</li>
        <li><label><input type="checkbox" id="layer-installations" checked /> Installations</label></li>
        <li><span class="inst" style="background:${INSTALLATION_COLOR}"></span>yours (reach: ring)</li>
        <li><span class="inst cand" style="border-color:${CANDIDATE_COLOR}"></span>candidate found in the data</li>
      </ul>
      <p class="muted small" id="installations-note" hidden></p>
      <h3>Coverage outages</h3>
      <p class="muted small" id="outages-window">whole store</p>
      <ul id="outages"><li class="muted">…</li></ul>
    </details>`;
}

// ------------------------------------------------------------------ coverage outages

/** The time window of the filters as the coverage API reads it: whole UTC hours (an hour
 * is kept when it starts in [start, end), so the start is floored to its hour). */
function coverageWindow() {
  const f = state.filters;
  const floor = (iso) => (iso ? new Date(Math.floor(Date.parse(iso) / 3.6e6) * 3.6e6).toISOString() : null);
  return { start: floor(f.start), end: f.end };
}

/** An outage in words: "st1: 2026-01-15 02:59Z – 2026-01-15 10:00Z (7 h)". */
function outageText(o) {
  const feed = o.kind === "store" ? "all feeds" : o.source || "(no source)";
  return `${feed}: ${fmtTime(o.start)} – ${fmtTime(o.end)} (${o.hours} h)`;
}

/**
 * The coverage outages of the time window (silences every vessel of a feed shared, listed
 * once and never raised as gap alerts), in the legend, and, when the coverage layer is on,
 * the cells the feeds heard in the window. Fetched again when the window changes.
 */
async function loadCoverage() {
  const win = coverageWindow();
  const key = JSON.stringify([win, state.showCoverage]);
  if (key === state.coverageKey) return;
  state.coverageKey = key;
  try {
    const [c, cells] = await Promise.all([
      getJSON(`${API}/coverage${query(win)}`),
      state.showCoverage ? getJSON(`${API}/coverage/cells${query(win)}`) : null,
    ]);
    if (key !== state.coverageKey) return; // a newer window is on its way
    state.outages = c.outages ?? [];
    state.pickedOutage = null;
    $("#outages-window").textContent =
      win.start || win.end
        ? `in the window ${win.start ? fmtTime(win.start) : "…"} – ${win.end ? fmtTime(win.end) : "…"}`
        : "whole store";
    const items = state.outages.map(
      (o, i) =>
        `<li class="outage"><button type="button" class="link outage-pick" data-outage="${i}" title="shade its cells on the map (no gap alert inside it)">${esc(outageText(o))}</button></li>`,
    );
    $("#outages").innerHTML = items.length
      ? items.join("")
      : `<li class="muted">none of ${c.min_outage_h} h or more</li>`;
    if (cells) {
      state.coverage = withOutages(cells, state.outages);
      await mapLoaded;
      setData("coverage", state.coverage);
      pickOutage(null);
    }
  } catch (err) {
    state.coverageKey = null;
    $("#outages").innerHTML = `<li class="muted">unavailable</li>`;
    fail("Loading coverage", err);
  }
}

/**
 * The cells with the outages of their feeds: `outage_ids` (",0,2,": the indices in
 * `outages` of the outages that silenced the cell: a feed's outage silences the cells that
 * feed heard, the store's every cell) and `outage_h` (their hours).
 */
function withOutages(cells, outages) {
  const features = (cells.features ?? []).map((f) => {
    const p = f.properties;
    const ids = outages
      .map((o, i) => [o, i])
      .filter(([o]) => o.kind === "store" || (p.feeds ?? []).includes(o.source));
    return {
      ...f,
      properties: {
        ...p,
        outage_ids: `,${ids.map(([, i]) => i).join(",")},`,
        outage_h: ids.reduce((n, [o]) => n + (o.hours ?? 0), 0),
      },
    };
  });
  return { ...cells, features };
}

/** Shade the cells of one outage (an index in state.outages; null: none). */
function pickOutage(i) {
  state.pickedOutage = i;
  document.querySelectorAll(".outage-pick").forEach((b) => {
    b.setAttribute("aria-pressed", String(Number(b.dataset.outage) === i));
  });
  if (!map.getLayer("coverage-outage-fill")) return;
  map.setFilter("coverage-outage-fill", ["in", `,${i ?? "none"},`, ["get", "outage_ids"]]);
}

/** Show or hide the coverage layer (the legend's box); the cells are fetched when shown. */
function toggleCoverage(on) {
  state.showCoverage = on;
  for (const id of ["coverage-fill", "coverage-line", "coverage-outage-line", "coverage-outage-fill"])
    map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
  document.querySelectorAll(".coverage-key").forEach((li) => (li.hidden = !on));
  return loadCoverage();
}

// ------------------------------------------------------------------ installations

/** A circle of `km` around [lon, lat] as a closed ring (for an installation's reach). */
function circle(lon, lat, km, steps = 48) {
  const ring = [];
  const dLat = km / 111.32;
  const dLon = dLat / Math.max(Math.cos((lat * Math.PI) / 180), 0.01);
  for (let i = 0; i <= steps; i++) {
    const a = (2 * Math.PI * i) / steps;
    ring.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return ring;
}

/** The installations the detection run checked events against, and the candidates it found
 * in the data (GET /installations): points, and the reach within which a loitering or an
 * encounter is at one. */
async function loadInstallations() {
  try {
    const fc = await getJSON(`${API}/installations`);
    state.installations = fc;
    const reach = (fc.features ?? []).map((f) => ({
      type: "Feature",
      geometry: {
        type: "Polygon",
        coordinates: [circle(...f.geometry.coordinates, f.properties.reach_km ?? 0)],
      },
      properties: f.properties,
    }));
    const mine = (fc.features ?? []).filter((f) => !f.properties.candidate).length;
    const found = (fc.features ?? []).length - mine;
    const at = Object.entries(fc.at_installations ?? {})
      .map(([t, n]) => `${fmtCount(n)} ${eventLabel(t).toLowerCase()}`)
      .join(", ");
    const note = $("#installations-note");
    note.hidden = !fc.detected;
    note.textContent = fc.detected
      ? `${fmtCount(mine)} installation${mine === 1 ? "" : "s"}, ${fmtCount(found)} candidate${
          found === 1 ? "" : "s"
        }${found && !fc.use_inferred ? " (not used)" : ""}; events at one: ${at || "none"}${
          at ? (fc.score_factor ? ` (score × ${fc.score_factor})` : " (dropped)") : ""
        }.`
      : "";
    await mapLoaded;
    setData("installations", fc);
    setData("installation-reach", { type: "FeatureCollection", features: reach });
  } catch (err) {
    fail("Loading installations", err);
  }
}

function toggleInstallations(on) {
  for (const id of ["installations", "installation-reach", "installation-reach-line", "candidate-reach-line"])
    map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
}

// ------------------------------------------------------------------ header

async function loadStats() {
  try {
    const s = await getJSON(`${API}/stats`);
    state.stats = s;
    const { positions, vessels, events, first_ts: first, last_ts: last } = s;
    $("#stats").textContent = [
      `${fmtCount(positions)} positions`,
      `${fmtCount(vessels)} vessels`,
      `${fmtCount(events)} events`,
      first && last && `${fmtTime(first)} – ${fmtTime(last)}`,
    ]
      .filter(Boolean)
      .join(" · ");
    if (first && last) timeline.setDomain(Date.parse(first), Date.parse(last));
    for (const [type, n] of Object.entries(s.events_by_type ?? {})) {
      const box = document.querySelector(
        `#type-boxes .type-count[data-type="${CSS.escape(type)}"]`,
      );
      if (box) box.textContent = fmtCount(n);
    }
    for (const t of EVENT_TYPES) {
      const box = document.querySelector(`#type-boxes .type-count[data-type="${t.id}"]`);
      if (box && s.events_by_type && !(t.id in s.events_by_type)) box.textContent = "0";
    }
    state.detectionMissing = s.detection === null && positions > 0;
    if (state.detectionMissing) renderEventList();
    if (s.detection?.stale) {
      $("#stats").textContent += " · events predate the latest ingest: run detection again";
      $("#stats").classList.add("stale");
    }
  } catch (err) {
    $("#stats").textContent = "statistics unavailable";
    fail("Loading statistics", err);
  }
}

// ------------------------------------------------------------------ basemap and zones

async function loadBasemap() {
  try {
    const [land, zones] = await Promise.all([
      getJSON(`${API}/basemap/land`),
      getJSON(`${API}/zones`),
    ]);
    await mapLoaded;
    setData("land", land);
    zones.features?.forEach((f, i) => (f.id = i));
    setData("zones", zones);
  } catch (err) {
    fail("Loading land and zones", err);
  }
}

// ------------------------------------------------------------------ vessels

async function loadVessels() {
  try {
    const fc = await getJSON(`${API}/vessels?format=geojson`);
    const byId = new Map();
    for (const f of fc.features ?? []) {
      const p = f.properties;
      p.ship_class = shipClass(p.ship_type);
      byId.set(Number(p.mmsi), p);
    }
    state.vessels = fc;
    state.vesselById = byId;
    renderEventList(); // names for the rows listed before the vessels arrived
    await mapLoaded;
    setData("vessels", fc);
    const b = boundsOf(fc.features ?? []);
    if (b && !state.panel) map.fitBounds(b, { padding: fitPadding(), maxZoom: 9, duration: 0 });
  } catch (err) {
    fail("Loading vessels", err);
  }
}

function vesselName(mmsi) {
  const v = state.vesselById.get(Number(mmsi));
  return v?.name ? `${v.name} (${mmsi})` : String(mmsi);
}

// ------------------------------------------------------------------ events: filters, list, map

function renderTypeBoxes() {
  $("#type-boxes").innerHTML = EVENT_TYPES.map(
    (t) => `
      <label class="type-box">
        <input type="checkbox" name="type" value="${t.id}"${
          state.filters.types.has(t.id) ? " checked" : ""
        } />
        <span class="swatch" style="background:${t.color}"></span>${esc(t.label)}
        <span class="type-count" data-type="${t.id}"></span>
      </label>`,
  ).join("");
}

/**
 * The time window fields as [startMs|null, endMs|null], read as ISO 8601 UTC whatever the
 * browser's locale (format.js's parseTimeInput). A field that does not parse, or an end not
 * after the start, is marked invalid, said why under the fields, and left out of the filter.
 */
function readWindow() {
  const errors = [];
  const read = (input, name) => {
    const r = parseTimeInput(input.value);
    if (r.error) errors.push(`${name}: ${r.error}.`);
    markInvalid(input, Boolean(r.error));
    return r.error ? null : r.ms;
  };
  const start = read($("#win-start"), "From");
  let end = read($("#win-end"), "To");
  if (start !== null && end !== null && end <= start) {
    errors.push("To: the window must end after it starts.");
    markInvalid($("#win-end"), true);
    end = null;
  }
  const box = $("#win-error");
  box.textContent = errors.length ? `${errors.join(" ")} Not applied.` : "";
  box.hidden = errors.length === 0;
  return [start, end];
}

function markInvalid(input, bad) {
  if (bad) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function readFilters() {
  const f = state.filters;
  f.types = new Set(
    [...document.querySelectorAll('#type-boxes input[name="type"]:checked')].map((i) => i.value),
  );
  f.minScore = Number($("#min-score").value);
  const [start, end] = readWindow();
  f.start = start === null ? null : new Date(start).toISOString();
  f.end = end === null ? null : new Date(end).toISOString();
  f.inView = $("#in-view").checked;
  $("#min-score-out").textContent = f.minScore.toFixed(2);
  timeline.setWindow(f.start ? Date.parse(f.start) : null, f.end ? Date.parse(f.end) : null);
  if (state.user) loadCoverage(); // the outages and cells of the new window
}

/** The events query of the filters (`extra` overrides any parameter, `type` included). */
function eventsQuery(extra = {}) {
  const f = state.filters;
  return query({
    format: "geojson",
    type: f.types.size < EVENT_TYPES.length ? [...f.types].join(",") : null,
    start: f.start,
    end: f.end,
    min_score: f.minScore > 0 ? f.minScore : null,
    bbox: f.inView ? viewBox() : null,
    limit: PAGE_SIZE,
    offset: state.offset,
    order: "risk", // an analyst's list: highest risk first (docs/risk.md), then newest
    ...extra,
  });
}

/** The routine types (format.js's ROUTINE_TYPES) the type filter leaves out now. */
function hiddenRoutineTypes() {
  return ROUTINE_TYPES.filter((t) => !state.filters.types.has(t));
}

/** How many events of the unticked routine types match the other filters (0: none hidden). */
async function countHiddenRoutine() {
  const types = hiddenRoutineTypes();
  if (!types.length) return 0;
  const page = await getJSON(
    `${API}/events${eventsQuery({ format: "json", type: types.join(","), limit: 1, offset: 0 })}`,
  );
  return page.total ?? 0;
}

/** The map view as an API bbox (west > east across the antimeridian); null: the whole world. */
function viewBox() {
  const b = map.getBounds();
  const west = b.getWest();
  const east = b.getEast();
  if (east - west >= 360) return null;
  const wrap = (lon) =>
    lon >= -180 && lon <= 180 ? lon : ((((lon + 180) % 360) + 360) % 360) - 180;
  const clampLat = (lat) => Math.max(-90, Math.min(90, lat));
  return [wrap(west), clampLat(b.getSouth()), wrap(east), clampLat(b.getNorth())]
    .map((v) => v.toFixed(4))
    .join(",");
}

let eventsTimer = 0;
function scheduleEvents({ resetPage = true } = {}) {
  if (resetPage) state.offset = 0;
  clearTimeout(eventsTimer);
  eventsTimer = setTimeout(loadEvents, 150);
}

/**
 * A page of events as the API's GeoJSON (format=geojson): its features, drawn on the map as
 * they are, and their properties, the events listed and on the timeline (the same fields as
 * the JSON page's items).
 */
async function getEvents(params) {
  const page = await getJSON(`${API}/events${params}`);
  const features = page.features ?? [];
  return { ...page, features, items: features.map((f) => f.properties) };
}

async function loadEvents() {
  const ticket = ++state.eventsRequest;
  if (state.filters.types.size === 0) {
    try {
      const hidden = await countHiddenRoutine();
      if (ticket !== state.eventsRequest) return;
      state.hiddenRoutine = hidden;
    } catch (err) {
      fail("Counting the routine events", err);
    }
    applyEvents({ items: [], total: 0, limit: PAGE_SIZE, offset: 0 }, []);
    return;
  }
  try {
    const [page, hidden] = await Promise.all([getEvents(eventsQuery()), countHiddenRoutine()]);
    if (ticket !== state.eventsRequest) return; // a newer request is on its way
    state.hiddenRoutine = hidden;
    // map and timeline: every event that matches (up to OVERVIEW_MAX), fetched again only
    // when the filters change, not when the list pages
    const key = eventsQuery({ offset: 0, limit: OVERVIEW_MAX });
    let overview = state.overviewFeatures;
    if (key !== state.overviewKey) {
      const all = page.total ?? 0;
      overview =
        all <= page.features.length && (page.offset ?? 0) === 0
          ? page.features
          : (await getEvents(key)).features;
      if (ticket !== state.eventsRequest) return;
      state.overviewKey = key;
    }
    applyEvents(page, overview);
  } catch (err) {
    fail("Loading events", err);
  }
}

function applyEvents(page, overview) {
  state.events = page.items ?? [];
  state.total = page.total ?? state.events.length;
  state.offset = page.offset ?? state.offset;
  state.overviewFeatures = overview;
  state.overview = overview.map((f) => f.properties);
  renderEventList();
  timeline.setEvents(state.overview);
  // the API's features as they are; an event without a position has no geometry to draw
  const drawn = overview.filter((f) => f.geometry);
  mapLoaded.then(() => setData("events", { type: "FeatureCollection", features: drawn }));
}

function eventVessels(e) {
  const a = vesselName(e.mmsi);
  return e.other_mmsi ? `${a} & ${vesselName(e.other_mmsi)}` : a;
}

function renderEventList() {
  const list = $("#event-list");
  const n = state.events.length;
  const from = n ? state.offset + 1 : 0;
  const drawn =
    state.overview.length < state.total ? ` · map shows ${fmtCount(state.overview.length)}` : "";
  $("#events-count").textContent = n
    ? `${fmtCount(from)}–${fmtCount(state.offset + n)} of ${fmtCount(state.total)}${drawn}`
    : state.detectionMissing
      ? "No events: detection has not run on this store (seawatch detect)"
      : "No events match";
  $("#page-prev").disabled = state.offset <= 0;
  $("#page-next").disabled = state.offset + n >= state.total;
  renderRoutineNote();
  list.innerHTML = state.events
    .map(
      (e) => `
      <li class="event-row${state.panel?.kind === "event" && state.panel.id === e.event_id ? " selected" : ""}" data-event-id="${esc(e.event_id)}">
        <button type="button" class="event-button" data-event-id="${esc(e.event_id)}">
          <span class="badge" style="--c:${eventColor(e.type)}">${esc(eventLabel(e.type))}</span>
          <span class="ev-time">${esc(fmtTime(e.start))}${e.end !== e.start ? ` · ${esc(fmtHours((Date.parse(e.end) - Date.parse(e.start)) / 3.6e6))}` : ""}</span>
          <span class="ev-score" title="score">${fmtNumber(e.score, 2)}</span>
          ${tlpBadge(e.marking, e.releasable_to, e.owner_agency)}
          <span class="ev-who">${esc(eventVessels(e))}${e.zone ? ` · ${esc(e.zone)}` : ""}</span>
        </button>
      </li>`,
    )
    .join("");
}

/** "3,731 routine events hidden: zone entries, zone exits, port visits. [Show them]" */
function renderRoutineNote() {
  const note = $("#routine-note");
  const types = hiddenRoutineTypes();
  note.hidden = !(state.hiddenRoutine > 0 && types.length);
  if (note.hidden) return;
  const names = types.map((t) => ROUTINE[t]).join(", ");
  $("#routine-text").textContent =
    `${fmtCount(state.hiddenRoutine)} routine event${state.hiddenRoutine === 1 ? "" : "s"} ` +
    `hidden: ${names}.`;
}

/** Tick the routine types again: their events join the list, the map and the timeline. */
function showRoutine() {
  for (const t of ROUTINE_TYPES) {
    const box = document.querySelector(`#type-boxes input[value="${t}"]`);
    if (box) box.checked = true;
  }
  readFilters();
  scheduleEvents();
}

// ------------------------------------------------------------------ side panel

function openPanel(title, kind, id) {
  closePlayer();
  state.panel = { kind, id };
  const panel = $("#panel");
  if (panel.hidden) {
    $("#legend details").open = false; // room for the evidence; one click reopens
    state.returnFocus = document.activeElement; // back there when the panel closes
  }
  panel.hidden = false;
  panel.dataset.kind = kind;
  $("#panel-title").textContent = title;
  $("#panel-body").innerHTML = `<p class="muted">Loading…</p>`;
  document.querySelectorAll(".event-row.selected").forEach((r) => r.classList.remove("selected"));
  if (kind === "event") {
    document
      .querySelector(`.event-row[data-event-id="${CSS.escape(id)}"]`)
      ?.classList.add("selected");
  }
  map.setFilter("vessel-selected", ["==", ["get", "mmsi"], kind === "vessel" ? Number(id) : -1]);
  return $("#panel-body");
}

function closePlayer() {
  state.player?.destroy();
  state.player = null;
  setData("cursor", EMPTY);
  timeline.setCursor(null);
}

function closePanel() {
  closePlayer();
  state.panel = null;
  $("#panel").hidden = true;
  if (state.returnFocus?.isConnected) state.returnFocus.focus({ preventScroll: true });
  state.returnFocus = null;
  setData("track", EMPTY);
  setData("evidence", EMPTY);
  map.setFilter("vessel-selected", ["==", ["get", "mmsi"], -1]);
  document.querySelectorAll(".event-row.selected").forEach((r) => r.classList.remove("selected"));
}

function dl(rows) {
  return `<dl class="facts">${rows
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join("")}</dl>`;
}

function identityRows(v) {
  return [
    ["MMSI", v.mmsi],
    ["IMO", v.imo],
    ["Call sign", v.callsign],
    ["Flag", v.flag],
    ["Type", v.ship_type_label ?? v.ship_type ?? "unknown"],
    ["AIS class", v.cls],
  ];
}

/** Build a Player track from coordinates and ISO times. */
function playerTrack(mmsi, color, coords, times, sog, cog) {
  const t = times.map((s) => Date.parse(s));
  return { mmsi, color, coords, times: t, sog, cog };
}

// ------------------------------------------------------------------ vessel panel

async function openVessel(mmsi, known = null) {
  mmsi = Number(mmsi);
  let v = state.vesselById.get(mmsi) ?? known;
  const body = openPanel(v?.name || `MMSI ${mmsi}`, "vessel", mmsi);
  setData("evidence", EMPTY);
  setData("track", EMPTY);
  if (!v) {
    try {
      const found = await getJSON(`${API}/vessels${query({ q: String(mmsi) })}`);
      v = (found.items ?? []).find((x) => Number(x.mmsi) === mmsi) ?? { mmsi };
    } catch (err) {
      fail("Looking up the vessel", err);
      v = { mmsi };
    }
  }
  if (state.panel?.kind !== "vessel" || state.panel.id !== mmsi) return;
  const trackChoice = (h, i) => `
        <label><input type="radio" name="track-window" value="${h}"${i === 1 ? " checked" : ""} /> ${TRACK_WINDOWS[i][1]}</label>`;
  body.innerHTML = `
    <p class="sub">${esc(v.ship_type_label ?? "Type unknown")}${v.flag ? ` · ${esc(v.flag)}` : ""}</p>
    ${dl(identityRows(v))}
    <div class="vessel-more"></div>
    <h3>Latest fix</h3>
    ${dl([
      ["Time", fmtTime(v.ts, { seconds: true })],
      ["Position", fmtLatLon(v.lat, v.lon)],
      ["Speed", v.sog !== null && v.sog !== undefined ? `${fmtNumber(v.sog, 1)} kn` : null],
      ["Course", v.cog !== null && v.cog !== undefined ? `${fmtNumber(v.cog, 0)}°` : null],
      [
        "Heading",
        v.heading !== null && v.heading !== undefined ? `${fmtNumber(v.heading, 0)}°` : null,
      ],
    ])}
    <h3>Track</h3>
    <div class="track-window" role="group" aria-label="Track period before the latest fix">
      ${TRACK_WINDOWS.map(([h], i) => trackChoice(h, i)).join("")}
    </div>
    <div class="track-player"><p class="muted">Loading track…</p></div>
    <h3>Events</h3>
    <ul class="vessel-events"><li class="muted">Loading…</li></ul>`;
  if (v.lon !== undefined && v.lat !== undefined && v.lon !== null) {
    map.easeTo({ center: [v.lon, v.lat], duration: 500, padding: fitPadding() });
  }
  body
    .querySelectorAll('input[name="track-window"]')
    .forEach((r) => r.addEventListener("change", () => loadTrack(v, r.value)));
  loadTrack(v, "24");
  loadVesselEvents(mmsi, body.querySelector(".vessel-events"));
  loadVesselDetail(v, body.querySelector(".vessel-more"));
  $("#panel-title").focus({ preventScroll: true });
}

/** Identity and history figures from GET /vessels/{mmsi} (size, destination, first seen). */
async function loadVesselDetail(v, box) {
  try {
    const d = await getJSON(`${API}/vessels/${Number(v.mmsi)}`);
    if (state.panel?.kind !== "vessel" || state.panel.id !== Number(v.mmsi)) return;
    v.first_ts = d.first_ts;
    const size = d.length ? `${fmtNumber(d.length, 0)} × ${fmtNumber(d.width ?? 0, 0)} m` : null;
    box.innerHTML = dl([
      ["Size", size],
      ["Draught", d.draught ? `${fmtNumber(d.draught, 1)} m` : null],
      ["Destination", d.destination],
      ["Seen", d.first_ts ? `${fmtTime(d.first_ts)} – ${fmtTime(d.last_ts)}` : null],
      ["Positions", d.positions !== undefined ? fmtCount(d.positions) : null],
      ["Events", d.events !== undefined ? fmtCount(d.events) : null],
    ]);
  } catch (err) {
    box.innerHTML = "";
    console.warn("seawatch: vessel details unavailable:", err.message ?? err);
  }
}

async function loadTrack(v, hours) {
  const mmsi = Number(v.mmsi);
  const box = $("#panel-body .track-player");
  closePlayer();
  const end = v.ts ? new Date(Date.parse(v.ts) + 1000) : null;
  let span = hours === "all" ? TRACK_MAX_HOURS : Number(hours);
  if (hours === "all" && end) {
    const first = v.first_ts ?? state.stats?.first_ts;
    if (first) span = Math.min(span, (end.getTime() - Date.parse(first)) / 3.6e6 + 1 / 60);
  }
  const start = end ? new Date(end.getTime() - span * 3.6e6) : null;
  try {
    const track = await getJSON(
      `${API}/vessels/${mmsi}/track${query({
        start: start?.toISOString(),
        end: end?.toISOString(),
        // simplified for a zoom above the current one: the map zooms in to fit the track
        zoom: Math.max(Math.round(map.getZoom()) + 2, 10),
      })}`,
    );
    if (state.panel?.kind !== "vessel" || state.panel.id !== mmsi) return;
    const geom = track.geometry;
    const coords = !geom
      ? []
      : geom.type === "Point"
        ? [geom.coordinates]
        : (geom.coordinates ?? []);
    const times = track.properties?.times ?? [];
    setData("track", { type: "FeatureCollection", features: coords.length ? [track] : [] });
    if (coords.length === 0) {
      box.innerHTML = `<p class="muted">No positions in this period.</p>`;
      return;
    }
    const total = track.properties?.points_total;
    const simplified =
      total && total > coords.length ? ` (simplified from ${fmtCount(total)})` : "";
    box.innerHTML = `<p class="muted">${fmtCount(coords.length)} points${simplified}, ${esc(
      fmtTime(times[0]),
    )} – ${esc(fmtTime(times[times.length - 1]))}</p><div class="player-host"></div>`;
    const tr = playerTrack(
      mmsi,
      "#1b6fd8",
      coords,
      times,
      track.properties?.sog,
      track.properties?.cog,
    );
    startPlayer(box.querySelector(".player-host"), [tr], "Time along the track");
    state.player.seek(tr.times[tr.times.length - 1]);
    if (coords.length > 1) fitTo([track]);
  } catch (err) {
    box.innerHTML = `<p class="error">Track unavailable.</p>`;
    fail("Loading the track", err);
  }
}

async function loadVesselEvents(mmsi, list) {
  try {
    const page = await getJSON(`${API}/events${query({ mmsi, limit: 50 })}`);
    const items = page.items ?? [];
    list.innerHTML = items.length
      ? items
          .map(
            (e) => `<li><button type="button" class="link" data-event-id="${esc(e.event_id)}">
              <span class="badge" style="--c:${eventColor(e.type)}">${esc(eventLabel(e.type))}</span>
              ${esc(fmtTime(e.start))}</button></li>`,
          )
          .join("") +
        (page.total > items.length
          ? `<li class="muted">and ${fmtCount(page.total - items.length)} more</li>`
          : "")
      : `<li class="muted">No events.</li>`;
  } catch (err) {
    list.innerHTML = `<li class="error">Events unavailable.</li>`;
    fail("Loading the vessel's events", err);
  }
}

function startPlayer(host, tracks, label) {
  state.player = new Player(host, {
    tracks,
    label,
    onChange: (features, t) => {
      setData("cursor", { type: "FeatureCollection", features });
      timeline.setCursor(t);
    },
  });
}

// ------------------------------------------------------------------ event evidence panel

async function openEvent(eventId) {
  const listed =
    state.events.find((e) => e.event_id === eventId) ??
    state.overview.find((e) => e.event_id === eventId);
  const body = openPanel(listed ? eventLabel(listed.type) : "Event", "event", eventId);
  setData("track", EMPTY);
  let doc;
  try {
    doc = await getJSON(`${API}/events/${encodeURIComponent(eventId)}`);
  } catch (err) {
    body.innerHTML = `<p class="error">Evidence unavailable.</p>`;
    fail("Loading the event", err);
    return;
  }
  if (state.panel?.kind !== "event" || state.panel.id !== eventId) return;
  const e = doc.event;
  $("#panel-title").textContent = eventLabel(e.type);
  const mmsis = [e.mmsi, e.other_mmsi].filter((m) => m !== null && m !== undefined).map(Number);
  for (const f of doc.evidence?.features ?? []) {
    const m = Number(f.properties?.mmsi);
    if (!mmsis.includes(m)) mmsis.push(m);
  }
  const color = new Map(mmsis.map((m, i) => [m, TRACK_COLORS[i % TRACK_COLORS.length]]));
  const identities = new Map((doc.vessels ?? []).map((v) => [Number(v.mmsi), v]));

  // evidence on the map, each vessel in its own colour, the event's period emphasised, a
  // gap dashed (evidence.js)
  const t0 = Date.parse(e.start);
  const t1 = Date.parse(e.end);
  const features = evidenceFeatures(doc.evidence?.features, e, (m) => color.get(m));
  setData("evidence", { type: "FeatureCollection", features });

  const vesselsHtml = mmsis
    .map((m) => {
      const v = identities.get(m) ?? state.vesselById.get(m) ?? { mmsi: m };
      return `<li><span class="swatch" style="background:${color.get(m)}"></span>
        <button type="button" class="link" data-mmsi="${m}">${esc(v.name || "unnamed")}</button>
        <span class="muted">MMSI ${m}${v.flag ? ` · ${esc(v.flag)}` : ""}${
          v.ship_type_label ? ` · ${esc(v.ship_type_label)}` : ""
        }</span></li>`;
    })
    .join("");
  const figures = detailRows(e.details, e.type)
    .map((r) => `<tr><th scope="row">${esc(r.label)}</th><td>${esc(r.value)}</td></tr>`)
    .join("");
  const marking = e.marking
    ? `<p class="marking">${tlpBadge(e.marking, e.releasable_to, e.owner_agency)}
        <span class="muted">owner ${esc(e.owner_agency ?? "–")}${
          e.releasable_to?.length ? ` · releasable to ${esc(e.releasable_to.join(", "))}` : ""
        }</span></p>`
    : "";
  const why = whyAlert(e);
  const whyList = (items, cls) =>
    `<ul class="${cls}">${items.map((t) => `<li>${esc(t)}</li>`).join("")}</ul>`;
  body.innerHTML = `
    ${marking}
    <p class="explain">${esc(explainEvent(e))}</p>
    <section class="why" aria-labelledby="why-title">
      <h3 id="why-title">Why this alert</h3>
      <p class="why-head">Raised because</p>
      ${whyList(why.raised, "why-raised")}
      <p class="why-head">What lowered its score${why.lowered.length ? "" : ": nothing"}</p>
      ${why.lowered.length ? whyList(why.lowered, "why-lowered") : ""}
      <p class="muted small">Score ${esc(fmtNumber(e.score, 2))} (0 to 1).</p>
    </section>
    ${dl([
      ["Start", fmtTime(e.start, { seconds: true })],
      ["End", fmtTime(e.end, { seconds: true })],
      ["Duration", fmtHours((t1 - t0) / 3.6e6)],
      ["Score", fmtNumber(e.score, 2)],
      ["Zone", e.zone],
      ["Position", fmtLatLon(e.lat, e.lon)],
    ])}
    <h3>Vessels</h3>
    <ul class="vessels">${vesselsHtml}</ul>
    <h3>Measured</h3>
    <table class="figures"><caption class="visually-hidden">What the detector measured</caption>
      <tbody>${figures || `<tr><td class="muted">No figures recorded.</td></tr>`}</tbody></table>
    <h3>Replay</h3>
    <div class="evidence-player"></div>
    <p class="muted small">Event ID <code>${esc(e.event_id)}</code></p>`;

  // replay: every vessel's marker along its evidence points
  const tracks = mmsis
    .map((m) => {
      const pts = features
        .filter(
          (f) => f.geometry?.type === "Point" && Number(f.properties.mmsi) === m && f.properties.ts,
        )
        .sort((a, b) => Date.parse(a.properties.ts) - Date.parse(b.properties.ts));
      return playerTrack(
        m,
        color.get(m),
        pts.map((f) => f.geometry.coordinates),
        pts.map((f) => f.properties.ts),
        pts.map((f) => f.properties.sog),
        pts.map((f) => f.properties.cog),
      );
    })
    .filter((tr) => tr.times.length > 0);
  const host = body.querySelector(".evidence-player");
  if (tracks.length) {
    startPlayer(host, tracks, "Time around the event");
    state.player.seek(t0);
  } else {
    host.innerHTML = `<p class="muted">No positions around this event.</p>`;
  }
  // fit to all of the evidence (the approach, the event, the departure), clear of the panel
  if (features.length) fitTo(features, 13);
  else if (e.lat !== null && e.lon !== null)
    map.easeTo({ center: [e.lon, e.lat], zoom: 9, padding: fitPadding() });
  $("#panel-title").focus({ preventScroll: true });
}

// ------------------------------------------------------------------ search

let searchTimer = 0;
let searchSeq = 0;

function renderSearch(items) {
  const ul = $("#search-results");
  const input = $("#search-input");
  if (!items) {
    ul.hidden = true;
    input.setAttribute("aria-expanded", "false");
    return;
  }
  ul.innerHTML = items.length
    ? items
        .slice(0, 20)
        .map(
          (v, i) => `<li role="option" id="sr-${i}" tabindex="-1" data-mmsi="${Number(v.mmsi)}">
            <strong>${esc(v.name || "unnamed")}</strong>
            <span class="muted">${Number(v.mmsi)}${v.callsign ? ` · ${esc(v.callsign)}` : ""}${
              v.ship_type_label ? ` · ${esc(v.ship_type_label)}` : ""
            }</span></li>`,
        )
        .join("")
    : `<li class="muted" role="option" aria-disabled="true">No vessel found</li>`;
  ul.hidden = false;
  input.setAttribute("aria-expanded", "true");
  state.searchItems = items;
}

async function runSearch(q) {
  const seq = ++searchSeq;
  try {
    const res = await getJSON(`${API}/vessels${query({ q })}`);
    if (seq === searchSeq) renderSearch(res.items ?? []);
  } catch (err) {
    fail("Searching vessels", err);
  }
}

function pickSearch(mmsi) {
  const item = (state.searchItems ?? []).find((v) => Number(v.mmsi) === Number(mmsi));
  renderSearch(null);
  openVessel(mmsi, item);
}

// ------------------------------------------------------------------ map interaction

const hoverPopup = new maplibregl.Popup({
  closeButton: false,
  closeOnClick: false,
  className: "hover-popup",
  offset: 8,
});
let hoveredZone = null;
let moveFrame = 0;

function setZoneHover(id) {
  if (hoveredZone !== null)
    map.setFeatureState({ source: "zones", id: hoveredZone }, { hover: false });
  hoveredZone = id;
  if (id !== null) map.setFeatureState({ source: "zones", id }, { hover: true });
}

function describeFeature(f) {
  const p = f.properties;
  if (f.layer.id === "vessels") {
    return `<strong>${esc(p.name || "unnamed")}</strong><br>${esc(p.mmsi)} · ${esc(p.ship_type_label || "type unknown")}<br>${
      p.sog !== undefined && p.sog !== null ? `${fmtNumber(p.sog, 1)} kn · ` : ""
    }${esc(fmtTime(p.ts))}`;
  }
  if (f.layer.id === "events") {
    const e = state.overview.find((x) => x.event_id === p.event_id);
    if (!e) return `<strong>${esc(eventLabel(p.type))}</strong>`;
    const why = whyAlert(e);
    return `<strong>${esc(eventLabel(p.type))}</strong> · score ${esc(fmtNumber(e.score, 2))}<br>${esc(
      fmtTime(e.start),
    )}<br>${esc(eventVessels(e))}<br><span class="why-hover">${esc(why.raised[0] ?? "")}</span>${
      why.lowered.length ? `<br><span class="why-hover lowered">Lowered: ${esc(why.lowered[0])}</span>` : ""
    }`;
  }
  if (f.layer.id === "installations") {
    const where = `${p.candidate ? "Candidate found in the data" : esc(p.kind ?? "installation").replace(/_/g, " ")}`;
    const what = p.candidate
      ? `${fmtCount(p.n_vessels)} vessels stood by ${fmtHours(p.standby_hours)}${
          p.first ? `, ${esc(fmtTime(p.first))} – ${esc(fmtTime(p.last))}` : ""
        }<br>${p.used ? "used: events here are lowered" : "not used: add it to your file to lower events here"}`
      : `from ${esc(p.source ?? "your file")}`;
    return `<strong>${esc(p.name ?? "unnamed")}</strong><br>${where}<br>${what}<br>loitering and encounters within ${esc(
      fmtNm(p.reach_km),
    )} are at it`;
  }
  if (f.layer.id === "coverage-fill") {
    const total = state.coverage?.hours ?? 0;
    const lat = p.cell_lat;
    const lon = p.cell_lon;
    // the map gives a feature's list properties back as JSON text
    const feeds = Array.isArray(p.feeds) ? p.feeds : JSON.parse(p.feeds ?? "[]");
    const silenced = state.outages.filter((o) => o.kind === "store" || feeds.includes(o.source));
    return `<strong>Coverage cell ${Math.abs(lat)}°${lat < 0 ? "S" : "N"} ${Math.abs(lon)}°${
      lon < 0 ? "W" : "E"
    }</strong><br>heard ${fmtCount(p.hours)} of ${fmtCount(total)} h · ${fmtNumber(
      p.vessels_per_hour,
    )} vessels/h (peak ${fmtCount(p.peak_vessels)})<br>${fmtCount(p.positions)} positions · ${esc(
      JSON.parse(p.feeds ?? "[]").join(", "),
    )}${silenced.map((o) => `<br><span class="outage-hover">outage ${esc(outageText(o))}</span>`).join("")}`;
  }
  if (f.layer.id === "evidence-points") {
    return `${esc(vesselName(p.mmsi))}<br>${esc(fmtTime(p.ts, { seconds: true }))}${
      p.sog !== undefined && p.sog !== null ? ` · ${fmtNumber(p.sog, 1)} kn` : ""
    }`;
  }
  return `<strong>${esc(p.name)}</strong>${p.kind ? `<br>${esc(zoneKind(p.kind))}` : ""}`;
}

function featureAt(point) {
  const layers = [
    "cursor",
    "evidence-points",
    "events",
    "vessels",
    "installations",
    "coverage-fill",
  ].filter((l) => map.getLayer(l) && map.getLayoutProperty(l, "visibility") !== "none");
  const hit = map.queryRenderedFeatures(point, { layers })[0];
  if (hit && hit.layer.id !== "cursor") return hit;
  return null;
}

const ZONE_ORDER = ["mpa", "internal_waters", "territorial_sea", "archipelagic_waters", "eez"];

/** Zones under a point, innermost (most protective) first. */
function zonesAt(point) {
  const rank = (z) => {
    const i = ZONE_ORDER.indexOf(z.properties.kind);
    return i < 0 ? ZONE_ORDER.length : i;
  };
  const seen = new Set();
  return map
    .queryRenderedFeatures(point, { layers: ["zones-fill"] })
    .filter((z) => !seen.has(z.id) && seen.add(z.id))
    .sort((a, b) => rank(a) - rank(b));
}

map.on("mousemove", (ev) => {
  cancelAnimationFrame(moveFrame);
  moveFrame = requestAnimationFrame(() => {
    const f = featureAt(ev.point);
    map.getCanvas().style.cursor = f ? "pointer" : "";
    if (f) hoverPopup.setLngLat(ev.lngLat).setHTML(describeFeature(f)).addTo(map);
    else hoverPopup.remove();
    // zones: the innermost outlined, their names in a quiet line (most of the sea is in some
    // zone, so a popup that follows the mouse everywhere would be noise; click for one)
    const zones = zonesAt(ev.point);
    setZoneHover(zones.length ? zones[0].id : null);
    const hint = $("#zone-hint");
    hint.textContent = zones.map((z) => z.properties.name).join(" · ");
    hint.hidden = zones.length === 0;
  });
});
map.on("mouseout", () => {
  hoverPopup.remove();
  setZoneHover(null);
  $("#zone-hint").hidden = true;
});

map.on("click", (ev) => {
  const f = featureAt(ev.point);
  if (f?.layer.id === "vessels") openVessel(f.properties.mmsi);
  else if (f?.layer.id === "events") openEvent(f.properties.event_id);
  else if (f?.layer.id === "evidence-points") state.player?.seek(Date.parse(f.properties.ts));
  else {
    const zones = zonesAt(ev.point);
    if (zones.length) {
      new maplibregl.Popup({ className: "zone-popup" })
        .setLngLat(ev.lngLat)
        .setHTML(zones.map((z) => describeFeature(z)).join("<hr>"))
        .addTo(map);
    }
  }
});

map.on("moveend", () => {
  if (state.filters.inView) scheduleEvents();
});

// ------------------------------------------------------------------ wiring

const timeline = new Timeline($("#timeline"), {
  onWindow: (a, b) => {
    $("#win-start").value = a === null ? "" : fmtInputTime(a);
    $("#win-end").value = b === null ? "" : fmtInputTime(b);
    readFilters();
    scheduleEvents();
  },
  onPick: (e) => openEvent(e.event_id),
});

/** Tick the coverage layer's box and show it. */
function layerOn() {
  $("#layer-coverage").checked = true;
  return toggleCoverage(true);
}

function wire() {
  $("#filters").addEventListener("input", (e) => {
    if (e.target.closest(".window")) return; // typed times apply on change (Enter, leaving)
    readFilters();
    scheduleEvents();
  });
  $("#filters").addEventListener("change", (e) => {
    if (!e.target.closest(".window")) return;
    readFilters();
    scheduleEvents();
  });
  $("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    readFilters();
    scheduleEvents();
  });
  for (const input of document.querySelectorAll(".window input")) {
    input.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      readFilters();
      scheduleEvents();
    });
  }
  $("#routine-show").addEventListener("click", showRoutine);
  $("#legend").addEventListener("change", (e) => {
    if (e.target.id === "layer-coverage") toggleCoverage(e.target.checked);
    if (e.target.id === "layer-installations") toggleInstallations(e.target.checked);
  });
  $("#legend").addEventListener("click", (e) => {
    const b = e.target.closest(".outage-pick");
    if (!b) return;
    const i = Number(b.dataset.outage);
    const again = state.pickedOutage === i;
    const show = again ? Promise.resolve() : state.showCoverage ? Promise.resolve() : layerOn();
    show.then(() => {
      pickOutage(again ? null : i);
      const cells = (state.coverage?.features ?? []).filter((f) =>
        f.properties.outage_ids.includes(`,${i},`),
      );
      if (!again && cells.length) fitTo(cells, 8);
    });
  });
  $("#win-clear").addEventListener("click", () => {
    $("#win-start").value = "";
    $("#win-end").value = "";
    readFilters();
    scheduleEvents();
  });
  $("#page-prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    scheduleEvents({ resetPage: false });
  });
  $("#page-next").addEventListener("click", () => {
    state.offset += PAGE_SIZE;
    scheduleEvents({ resetPage: false });
  });
  $("#event-list").addEventListener("click", (e) => {
    const b = e.target.closest("[data-event-id]");
    if (b) openEvent(b.dataset.eventId);
  });
  $("#panel-body").addEventListener("click", (e) => {
    const ev = e.target.closest("button[data-event-id]");
    if (ev) return openEvent(ev.dataset.eventId);
    const v = e.target.closest("button[data-mmsi]");
    if (v) openVessel(v.dataset.mmsi);
  });
  $("#panel-close").addEventListener("click", closePanel);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("#search-results").hidden) renderSearch(null);
    else if (e.key === "Escape" && state.panel) closePanel();
  });

  const input = $("#search-input");
  input.addEventListener("input", () => {
    clearTimeout(searchTimer);
    const q = input.value.trim();
    if (q.length < 2) return renderSearch(null);
    searchTimer = setTimeout(() => runSearch(q), 200);
  });
  input.addEventListener("keydown", (e) => {
    const opts = [...document.querySelectorAll("#search-results li[data-mmsi]")];
    if (e.key === "Enter") {
      e.preventDefault();
      if (opts.length) pickSearch(opts[0].dataset.mmsi);
      else if (input.value.trim()) runSearch(input.value.trim());
    } else if (e.key === "ArrowDown" && opts.length) {
      e.preventDefault();
      opts[0].focus();
    }
  });
  $("#search-results").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-mmsi]");
    if (li) pickSearch(li.dataset.mmsi);
  });
  $("#search-results").addEventListener("keydown", (e) => {
    const li = e.target.closest("li[data-mmsi]");
    if (!li) return;
    if (e.key === "Enter") pickSearch(li.dataset.mmsi);
    else if (e.key === "ArrowDown") li.nextElementSibling?.focus();
    else if (e.key === "ArrowUp") (li.previousElementSibling ?? input).focus();
  });
  document.addEventListener("click", (e) => {
    if (!e.target.closest(".search")) renderSearch(null);
  });
}

/**
 * Pixel statistics of the map canvas, read during the next frame (the drawing buffer is not
 * preserved between frames): {width, height, distinct} where distinct counts distinct colours
 * on a sample grid. For tests: a blank canvas has one colour.
 */
function canvasStats() {
  return new Promise((resolve) => {
    map.once("render", () => {
      const canvas = map.getCanvas();
      const gl = canvas.getContext("webgl2") ?? canvas.getContext("webgl");
      const w = gl.drawingBufferWidth;
      const h = gl.drawingBufferHeight;
      const px = new Uint8Array(w * h * 4);
      gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
      const colours = new Set();
      for (let y = 0; y < h; y += 4) {
        for (let x = 0; x < w; x += 4) {
          const i = (y * w + x) * 4;
          colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
        }
      }
      resolve({ width: w, height: h, distinct: colours.size });
    });
    map.triggerRepaint();
  });
}

/**
 * Colours [r, g, b] of the map canvas at points [[x, y], ...] in CSS pixels of the map, read
 * during the next frame. For tests: what is drawn at a place, e.g. no line along the edges
 * of the fine land's box.
 */
function canvasPixels(points) {
  return new Promise((resolve) => {
    map.once("render", () => {
      const canvas = map.getCanvas();
      const gl = canvas.getContext("webgl2") ?? canvas.getContext("webgl");
      const ratio = gl.drawingBufferWidth / canvas.clientWidth;
      const px = new Uint8Array(4);
      resolve(
        points.map(([x, y]) => {
          const gx = Math.round(x * ratio);
          const gy = gl.drawingBufferHeight - 1 - Math.round(y * ratio);
          gl.readPixels(gx, gy, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
          return [px[0], px[1], px[2]];
        }),
      );
    });
    map.triggerRepaint();
  });
}

// ------------------------------------------------------------------ live mode (live.js)

/** Move the markers of the vessels of a `store` message (add the ones new to the map). */
function moveVessels(moved) {
  const features = state.vessels.features ?? [];
  const index = new Map(features.map((f, i) => [Number(f.properties.mmsi), i]));
  for (const v of moved) {
    if (v.lat === null || v.lon === null) continue;
    const i = index.get(Number(v.mmsi));
    const old = i === undefined ? null : features[i].properties;
    const props = { ...(old ?? {}), ...v, ship_class: shipClass(old?.ship_type ?? null) };
    const f = { type: "Feature", geometry: { type: "Point", coordinates: [v.lon, v.lat] }, properties: props };
    if (i === undefined) features.push(f);
    else features[i] = f;
    state.vesselById.set(Number(v.mmsi), props);
  }
  state.vessels = { type: "FeatureCollection", features };
  setData("vessels", state.vessels);
}

const live = new Live({
  onMoved: moveVessels,
  onNewEvents: (n) => {
    showStatus(`${fmtCount(n)} new event${n === 1 ? "" : "s"}`);
    loadStats();
    scheduleEvents({ resetPage: false });
  },
  onResync: (what) => {
    if (what.includes("store")) {
      loadVessels();
      scheduleEvents({ resetPage: false });
    }
  },
  onStatus: (text, { error = false } = {}) => showStatus(text, { error }),
  openEvent: (id) => openEvent(id),
  openPanel: (title, kind, id) => openPanel(title, kind, id),
  panelAlert: () => (state.panel?.kind === "alert" ? state.panel.id : null),
  canAct: false,
});

function showTab(name) {
  const panes = { events: "#events-pane", alerts: "#alert-queue", watch: "#watch-pane" };
  for (const [tab, pane] of Object.entries(panes)) {
    $(`#tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    $(pane).hidden = tab !== name;
  }
  if (name === "watch") loadWatch();
}

// ------------------------------------------------------------------ watch list (risk)

/**
 * Today's watch list (GET /watch, docs/risk.md): the vessels of the day's events by risk,
 * each with its breakdown, every signal's contribution and its evidence events (a click opens
 * the vessel or the event).
 */
async function loadWatch() {
  try {
    const watch = await getJSON(`${API}/watch?top=50`);
    state.watch = watch;
    renderWatch(watch);
  } catch (err) {
    fail("Loading the watch list", err);
  }
}

function renderWatch(watch) {
  const items = watch.items ?? [];
  $("#watch-count").textContent = items.length
    ? `${fmtCount(items.length)} vessel${items.length === 1 ? "" : "s"} at risk on ${watch.day}`
    : "No vessel at risk";
  $("#watch-list").innerHTML = items
    .map(
      (v) => `
      <li class="watch-row" data-mmsi="${v.mmsi}">
        <button type="button" class="watch-vessel" data-mmsi="${v.mmsi}">
          <span class="watch-risk" title="risk">${fmtNumber(v.risk, 2)}</span>
          <span class="ev-who">${esc(v.name ? `${v.name} (${v.mmsi})` : vesselName(v.mmsi))}</span>
        </button>
        <ul class="watch-why" aria-label="Why this vessel">${v.breakdown
          .map(
            (b) => `
          <li><span class="badge" style="--c:${eventColor(b.signal)}">${esc(eventLabel(b.signal))}</span>
            <span class="watch-part" title="contribution">+${fmtNumber(b.contribution, 2)}</span>
            ${b.count > 1 ? `<span class="muted">×${b.count}</span>` : ""}
            ${b.events
              .map(
                (id) =>
                  `<button type="button" class="link watch-event" data-event-id="${esc(id)}">evidence</button>`,
              )
              .join(" ")}</li>`,
          )
          .join("")}</ul>
      </li>`,
    )
    .join("");
}

function wireLive() {
  $("#tab-events").addEventListener("click", () => showTab("events"));
  $("#tab-alerts").addEventListener("click", () => showTab("alerts"));
  $("#tab-watch").addEventListener("click", () => showTab("watch"));
  $("#watch-list").addEventListener("click", (e) => {
    const ev = e.target.closest(".watch-event");
    if (ev) return openEvent(ev.dataset.eventId);
    const vessel = e.target.closest(".watch-vessel");
    if (vessel) openVessel(Number(vessel.dataset.mmsi));
  });
  live.wire($("#alert-queue"));
  live.wire($("#panel-body"));
  $("#live-toggle").addEventListener("change", async (e) => {
    if (e.target.checked) {
      await live.start();
      live.loadQueue();
      loadVessels();
    } else {
      live.stop();
    }
  });
}

async function startLive(me) {
  live.hooks.canAct = !(me.mode === "local" || me.auth === "local");
  await live.loadQueue();
  await live.start();
}

async function main() {
  renderLegend();
  renderTypeBoxes();
  wire();
  readFilters();
  // logged in? (local mode answers the built-in local user) otherwise the form, no data
  let me = null;
  try {
    me = await whoAmI();
  } catch (err) {
    fail("Asking who is logged in", err);
    return;
  }
  if (!me) {
    $("#stats").textContent = "Not logged in";
    me = await askLogin();
    $("#stats").textContent = "Loading…";
  }
  state.user = me;
  showUser(me, { onLogout: loggedOut });
  wireLive();
  startLive(me); // live mode is on when the stream is available
  await Promise.all([
    loadStats(),
    loadBasemap(),
    loadVessels(),
    loadEvents(),
    loadCoverage(),
    loadInstallations(),
    mapLoaded,
  ]);
  map.once("idle", () => {
    // every vessel is in the map's source and drawn: the first full render (benchmarks read
    // readyAt, milliseconds since navigation started)
    window.seawatch.readyAt = performance.now();
    window.seawatch.ready = true;
    document.body.dataset.ready = "true";
  });
  map.triggerRepaint();
}

/** Debug and test handle. */
window.seawatch = {
  map,
  state,
  ready: false,
  readyAt: null,
  openVessel,
  openEvent,
  closePanel,
  canvasStats,
  canvasPixels,
  live,
  toggleCoverage,
  pickOutage,
  get player() {
    return state.player;
  },
};

main();

// The map style: a sea-coloured background, the shipped land, zones, and GeoJSON sources for
// vessels, events, a vessel's track, an event's evidence and the replay markers.
//
// No glyphs, no sprite, no tiles, no source URL: every source is GeoJSON data the app fetches
// from its own server and sets, so the map requests nothing from any host. Labels are HTML
// (popups and panels) instead of symbol layers, which would need glyphs.

import { EVENT_TYPES, OTHER_EVENT_COLOR, SHIP_CLASSES } from "./format.js";

export const EMPTY = { type: "FeatureCollection", features: [] };

/** One colour per vessel of an event's evidence, in the order of the event's vessels. */
export const TRACK_COLORS = ["#d7263d", "#1b6fd8", "#f0a202", "#2a9d8f", "#8338ec"];

/** Dashes of an AIS gap's line, in line widths (dash, space): unlike the solid tracks and
the zones' long dashes. */
export const GAP_DASH = [1.5, 2];

/** Zone outline colours by zone kind (others: purple). */
export const ZONE_COLORS = {
  mpa: "#2a9d3f",
  territorial_sea: "#e76f51",
  eez: "#1d70b8",
};

/** Colours of the coverage layer: cells by vessels heard per hour (a ramp from few to many),
an outage's cells, and installations (the user's, and candidates found in the data). */
export const COVERAGE_RAMP = [
  [0, "#f7fbff"],
  [1, "#c6dbef"],
  [5, "#6baed6"],
  [20, "#2171b5"],
  [100, "#08306b"],
];
export const OUTAGE_COLOR = "#c0392b";
export const INSTALLATION_COLOR = "#5b3a29";
export const CANDIDATE_COLOR = "#8e6c8a";

const installationColor = ["case", ["get", "candidate"], CANDIDATE_COLOR, INSTALLATION_COLOR];

const zoneColor = ["match", ["get", "kind"], ...Object.entries(ZONE_COLORS).flat(), "#7d5ba6"];

/** An event's colour by its type, as format.js's eventColor gives it. */
const eventTypeColor = [
  "match",
  ["get", "type"],
  ...EVENT_TYPES.flatMap((t) => [t.id, t.color]),
  OTHER_EVENT_COLOR,
];

/** The style object given to maplibregl.Map. */
export function mapStyle() {
  return {
    version: 8,
    name: "seawatch offline",
    sources: {
      land: { type: "geojson", data: EMPTY },
      zones: { type: "geojson", data: EMPTY },
      vessels: { type: "geojson", data: EMPTY, buffer: 16, tolerance: 0.5 },
      events: { type: "geojson", data: EMPTY },
      track: { type: "geojson", data: EMPTY },
      evidence: { type: "geojson", data: EMPTY },
      cursor: { type: "geojson", data: EMPTY },
      coverage: { type: "geojson", data: EMPTY },
      installations: { type: "geojson", data: EMPTY },
      "installation-reach": { type: "geojson", data: EMPTY },
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": "#cfe1ec" } },
      { id: "land", type: "fill", source: "land", paint: { "fill-color": "#f1ede3" } },
      {
        id: "land-outline",
        type: "line",
        source: "land",
        paint: { "line-color": "#9c927c", "line-width": 0.7 },
      },
      {
        id: "zones-fill",
        type: "fill",
        source: "zones",
        paint: {
          "fill-color": zoneColor,
          "fill-opacity": 0.05,
        },
      },
      {
        id: "zones-line",
        type: "line",
        source: "zones",
        paint: {
          "line-color": zoneColor,
          "line-width": ["case", ["boolean", ["feature-state", "hover"], false], 2.5, 1.2],
          "line-dasharray": [4, 2],
        },
      },
      {
        // the coverage cells the feeds heard in the time window (GET /coverage/cells),
        // toggled from the legend; hidden until asked
        id: "coverage-fill",
        type: "fill",
        source: "coverage",
        layout: { visibility: "none" },
        paint: {
          "fill-color": [
            "interpolate",
            ["linear"],
            ["get", "vessels_per_hour"],
            ...COVERAGE_RAMP.flat(),
          ],
          "fill-opacity": 0.45,
        },
      },
      {
        id: "coverage-line",
        type: "line",
        source: "coverage",
        layout: { visibility: "none" },
        paint: { "line-color": "#4a6a8a", "line-width": 0.6, "line-opacity": 0.6 },
      },
      {
        // cells whose feeds had an outage in the window: outlined; the outage picked in
        // the legend's list: filled (its feed's cells, or every cell for the store's)
        id: "coverage-outage-line",
        type: "line",
        source: "coverage",
        layout: { visibility: "none" },
        filter: [">", ["get", "outage_h"], 0],
        paint: {
          "line-color": OUTAGE_COLOR,
          "line-width": 1.6,
          "line-dasharray": [2, 1],
        },
      },
      {
        id: "coverage-outage-fill",
        type: "fill",
        source: "coverage",
        layout: { visibility: "none" },
        filter: ["in", ",none,", ["get", "outage_ids"]],
        paint: { "fill-color": OUTAGE_COLOR, "fill-opacity": 0.4 },
      },
      {
        // where an event is at an installation: its reach (radius_km + extent_km)
        id: "installation-reach",
        type: "fill",
        source: "installation-reach",
        paint: { "fill-color": installationColor, "fill-opacity": 0.12 },
      },
      {
        id: "installation-reach-line",
        type: "line",
        source: "installation-reach",
        filter: ["!", ["get", "candidate"]],
        paint: { "line-color": INSTALLATION_COLOR, "line-width": 1.2 },
      },
      {
        // a candidate found in the data is a guess: dashed
        id: "candidate-reach-line",
        type: "line",
        source: "installation-reach",
        filter: ["get", "candidate"],
        paint: { "line-color": CANDIDATE_COLOR, "line-width": 1.2, "line-dasharray": [2, 2] },
      },
      {
        id: "installations",
        type: "circle",
        source: "installations",
        paint: {
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 3, 3, 8, 5, 12, 7],
          "circle-color": ["case", ["get", "candidate"], "#ffffff", installationColor],
          "circle-stroke-color": installationColor,
          "circle-stroke-width": 2,
        },
      },
      {
        id: "track-line",
        type: "line",
        source: "track",
        filter: ["==", ["geometry-type"], "LineString"],
        layout: { "line-join": "round", "line-cap": "round" },
        paint: { "line-color": "#1b6fd8", "line-width": 2.5, "line-opacity": 0.85 },
      },
      {
        id: "vessels",
        type: "circle",
        source: "vessels",
        paint: {
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 3, 2.8, 6, 4.2, 10, 6.5],
          "circle-color": [
            "match",
            ["get", "ship_class"],
            ...SHIP_CLASSES.flatMap((c) => [c.id, c.color]),
            "#6c757d",
          ],
          "circle-stroke-color": "#ffffff",
          "circle-stroke-width": ["interpolate", ["linear"], ["zoom"], 3, 0.3, 8, 1],
        },
      },
      {
        id: "vessel-selected",
        type: "circle",
        source: "vessels",
        filter: ["==", ["get", "mmsi"], -1],
        paint: {
          "circle-radius": 9,
          "circle-color": "rgba(0,0,0,0)",
          "circle-stroke-color": "#111",
          "circle-stroke-width": 2.5,
        },
      },
      {
        id: "events",
        type: "circle",
        source: "events",
        paint: {
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 3, 5, 8, 9],
          "circle-color": eventTypeColor,
          "circle-opacity": 0.18,
          "circle-stroke-color": eventTypeColor,
          "circle-stroke-width": 2,
        },
      },
      {
        id: "evidence-line",
        type: "line",
        source: "evidence",
        filter: ["all", ["==", ["geometry-type"], "LineString"], ["!", ["has", "gap"]]],
        layout: { "line-join": "round", "line-cap": "round" },
        paint: { "line-color": ["get", "color"], "line-width": 2.5, "line-opacity": 0.9 },
      },
      {
        // an AIS gap: no position between its two ends, so a dashed straight line, never
        // drawn like the track (evidence.js)
        id: "evidence-gap",
        type: "line",
        source: "evidence",
        filter: ["all", ["==", ["geometry-type"], "LineString"], ["has", "gap"]],
        paint: {
          "line-color": ["get", "color"],
          "line-width": 2,
          "line-opacity": 0.9,
          "line-dasharray": GAP_DASH,
        },
      },
      {
        id: "evidence-points",
        type: "circle",
        source: "evidence",
        filter: ["==", ["geometry-type"], "Point"],
        paint: {
          "circle-radius": ["case", ["get", "during"], 3, 2],
          "circle-color": ["get", "color"],
          "circle-opacity": ["case", ["get", "during"], 0.95, 0.4],
          "circle-stroke-color": "#222",
          "circle-stroke-width": ["case", ["get", "during"], 0.5, 0],
        },
      },
      {
        id: "cursor",
        type: "circle",
        source: "cursor",
        paint: {
          "circle-radius": 7,
          "circle-color": ["get", "color"],
          "circle-opacity": ["case", ["get", "inside"], 1, 0.45],
          "circle-stroke-color": "#111",
          "circle-stroke-width": 2,
        },
      },
    ],
  };
}

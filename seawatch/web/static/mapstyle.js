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

"""The traffic picture of a store and what is learned from it (docs/store.md, *traffic*)."""

"""From image files to masks, overlays and defect tables, for any Method."""

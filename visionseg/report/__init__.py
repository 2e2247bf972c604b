"""Reports: overlays, tables, plots, HTML and Markdown."""

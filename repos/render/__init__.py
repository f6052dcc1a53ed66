"""Turning repository content into HTML for Forge's pages: Markdown, syntax highlighting, language
statistics and file-type sniffing. Plain functions returning safe HTML strings; no Django imports."""

"""Static files that are generated from code stay in step with it."""
from pathlib import Path

from repos.render.highlight import stylesheet

STATIC = Path(__file__).resolve().parents[3] / "static"


def test_highlight_stylesheet_matches_the_highlighter():
    # Regenerate with: .venv/bin/python -c "from repos.render.highlight import stylesheet;
    #   open('static/highlight.css', 'w').write(stylesheet())"
    assert (STATIC / "highlight.css").read_text() == stylesheet()

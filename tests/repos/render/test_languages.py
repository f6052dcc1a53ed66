"""The language bar: linguist's colours, only programming and markup languages counted, vendored and
documentation paths left out, shares by bytes with small ones folded into "Other"."""
import os

import django

from repos.render.languages import LanguageShare, is_counted, language_of, language_stats


def test_language_of_by_extension_and_file_name():
    assert language_of("forge/views.py") == ("Python", "#3572A5")
    assert language_of("static/app.JS") == ("JavaScript", "#f1e05a")
    assert language_of("src/main.rs") == ("Rust", "#dea584")
    assert language_of("web/index.html") == ("HTML", "#e34c26")
    assert language_of("Makefile") == ("Makefile", "#427819")
    assert language_of("build/Dockerfile") == ("Dockerfile", "#384d54")
    assert language_of("Dockerfile.dev") == ("Dockerfile", "#384d54")
    assert language_of("CMakeLists.txt") == ("CMake", "#DA3434")
    assert language_of("lib/Rakefile") == ("Ruby", "#701516")
    assert language_of("ui/App.tsx") == ("TSX", "#3178c6")


def test_prose_data_images_and_unknown_are_not_languages():
    for path in ("README.md", "docs/guide.markdown", "package.json", ".github/ci.yml", "conf.yaml",
                 "pyproject.toml", "data.csv", "schema.sql", "logo.png", "icon.svg", "notes.txt",
                 "locale/fr/django.po", "LICENSE", "no_extension", ".gitignore", "index.rst"):
        assert language_of(path) is None, path


def test_vendored_and_documentation_paths_are_not_counted():
    for path in ("vendor/lib.go", "static/vendor/jquery/jquery.js", "node_modules/x/index.js",
                 "third_party/zlib/inflate.c", "web/dist/bundle.js", "app.min.js", "css/site.min.css",
                 "js/jquery.js", "js/jquery-3.7.1.js",
                 "docs/conf.py", "doc/example.c", "Documentation/tool.py", "README.html", "sub/LICENSE.txt"):
        assert not is_counted(path), path
    for path in ("forge/views.py", "src/docs.py", "lib/documentation/x.py", "mydocs/a.py", "sub/docs/x.py",
                 "advendor.py", "distance/calc.py", "admin/js/jquery.init.js"):
        assert is_counted(path), path


def test_shares_by_bytes_largest_first_with_one_decimal():
    files = [("a.py", 6000), ("b.py", 1500), ("site.js", 2000), ("style.css", 500),
             ("README.md", 90000), ("data.json", 50000), ("vendor/big.js", 99999), ("empty.py", 0)]
    assert language_stats(files) == [
        LanguageShare("Python", "#3572A5", 7500, 75.0),
        LanguageShare("JavaScript", "#f1e05a", 2000, 20.0),
        LanguageShare("CSS", "#563d7c", 500, 5.0),
    ]


def test_small_languages_fold_into_other_last():
    files = [("main.go", 97000), ("run.sh", 2000), ("Makefile", 600), ("x.lua", 300), ("y.rb", 100)]
    shares = language_stats(files)
    assert [(s.name, s.bytes, s.percent) for s in shares] == [
        ("Go", 97000, 97.0), ("Shell", 2000, 2.0), ("Other", 1000, 1.0)]
    assert shares[-1].colour == "#ededed"


def test_percent_rounding_and_empty_input():
    shares = language_stats([("a.py", 1), ("b.js", 1), ("c.css", 1)])
    assert [s.percent for s in shares] == [33.3, 33.3, 33.3]
    assert [s.name for s in shares] == ["CSS", "JavaScript", "Python"]     # ties by name
    assert language_stats([]) == []
    assert language_stats([("README.md", 100)]) == []


def test_paths_as_bytes_like_the_store_keeps_them():
    assert language_stats([(b"src/\xc3\xa9t\xc3\xa9.py", 10), (b"bad\xff.js", 10)]) == [
        LanguageShare("JavaScript", "#f1e05a", 10, 50.0), LanguageShare("Python", "#3572A5", 10, 50.0)]


def test_djangos_own_source_tree():
    root = os.path.dirname(django.__file__)
    files = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            files.append((os.path.relpath(path, os.path.dirname(root)), os.path.getsize(path)))
    shares = language_stats(files)
    assert shares[0].name == "Python" and shares[0].percent > 80
    names = [s.name for s in shares]
    assert "JavaScript" in names and "Markdown" not in names and "JSON" not in names
    own_js = sum(size for path, size in files
                 if path.endswith(".js") and "/vendor/" not in path and not path.endswith(".min.js"))
    assert next(s.bytes for s in shares if s.name == "JavaScript") == own_js
    assert abs(sum(s.percent for s in shares) - 100) < 0.5

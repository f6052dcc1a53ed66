"""The language bar: which languages a tree is written in, by bytes, with GitHub linguist's colours.

Only languages GitHub counts in the bar are known here ("programming" and "markup" in linguist's
terms, e.g. Python, HTML, CSS). Prose and data (Markdown, reStructuredText, text, JSON, YAML, TOML,
XML, CSV, SQL, gettext catalogues), images and anything unknown give None and are not counted.

Like linguist's defaults, vendored code (vendor/, node_modules/, third_party/, dist/, minified
files...) and documentation (docs/, doc/, Documentation/ at the root; README, LICENSE, COPYING,
CONTRIBUTING anywhere) are left out of the statistics, though language_of still names them."""
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

OTHER_NAME = "Other"
OTHER_COLOUR = "#ededed"
# Languages under this share of the counted bytes are folded into "Other".
FOLD_BELOW_PERCENT = 1.0


@dataclass(frozen=True)
class LanguageShare:
    name: str
    colour: str
    bytes: int
    percent: float      # of the counted bytes, one decimal


# name: (colour, extensions, exact file names). Colours are linguist's.
_LANGUAGES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "Assembly": ("#6E4C13", (".asm", ".nasm", ".s"), ()),
    "Batchfile": ("#C1F12E", (".bat", ".cmd"), ()),
    "C": ("#555555", (".c", ".h"), ()),
    "C#": ("#178600", (".cs", ".csx"), ()),
    "C++": ("#f34b7d", (".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".tpp"), ()),
    "Clojure": ("#db5855", (".clj", ".cljs", ".cljc"), ()),
    "CMake": ("#DA3434", (".cmake",), ("CMakeLists.txt",)),
    "CoffeeScript": ("#244776", (".coffee",), ("Cakefile",)),
    "Common Lisp": ("#3fb68b", (".lisp", ".lsp"), ()),
    "Crystal": ("#000100", (".cr",), ()),
    "CSS": ("#563d7c", (".css",), ()),
    "Cuda": ("#3A4E3A", (".cu", ".cuh"), ()),
    "D": ("#ba595e", (".d",), ()),
    "Dart": ("#00B4AB", (".dart",), ()),
    "Dockerfile": ("#384d54", (".dockerfile",), ("Dockerfile", "Containerfile")),
    "Elixir": ("#6e4a7e", (".ex", ".exs"), ()),
    "Elm": ("#60B5CC", (".elm",), ()),
    "Emacs Lisp": ("#c065db", (".el",), (".emacs",)),
    "Erlang": ("#B83998", (".erl", ".hrl"), ("rebar.config",)),
    "F#": ("#b845fc", (".fs", ".fsi", ".fsx"), ()),
    "Fortran": ("#4d41b1", (".f", ".f90", ".f95", ".f03", ".for"), ()),
    "GLSL": ("#5686a5", (".glsl", ".vert", ".frag", ".geom"), ()),
    "Go": ("#00ADD8", (".go",), ()),
    "Groovy": ("#4298b8", (".groovy",), ("Jenkinsfile",)),
    "Handlebars": ("#f7931e", (".hbs", ".handlebars"), ()),
    "Haskell": ("#5e5086", (".hs", ".lhs"), ()),
    "HCL": ("#844FBA", (".hcl", ".tf", ".tfvars"), ()),
    "HTML": ("#e34c26", (".html", ".htm", ".xhtml"), ()),
    "Java": ("#b07219", (".java",), ()),
    "JavaScript": ("#f1e05a", (".js", ".mjs", ".cjs", ".jsx"), ()),
    "Jinja": ("#a52a22", (".jinja", ".jinja2", ".j2"), ()),
    "Julia": ("#a270ba", (".jl",), ()),
    "Jupyter Notebook": ("#DA5B0B", (".ipynb",), ()),
    "Kotlin": ("#A97BFF", (".kt", ".kts"), ()),
    "Less": ("#1d365d", (".less",), ()),
    "Lua": ("#000080", (".lua",), ()),
    "Makefile": ("#427819", (".mk", ".mak"), ("Makefile", "makefile", "GNUmakefile")),
    "Nim": ("#ffc200", (".nim", ".nims"), ()),
    "Nix": ("#7e7eff", (".nix",), ()),
    "Objective-C": ("#438eff", (".m",), ()),
    "Objective-C++": ("#6866fb", (".mm",), ()),
    "OCaml": ("#ef7a08", (".ml", ".mli"), ()),
    "Pascal": ("#E3F171", (".pas", ".dpr", ".lpr"), ()),
    "Perl": ("#0298c3", (".pl", ".pm"), ()),
    "PHP": ("#4F5D95", (".php", ".phtml"), ()),
    "PowerShell": ("#012456", (".ps1", ".psm1", ".psd1"), ()),
    "Python": ("#3572A5", (".py", ".pyw", ".pyi", ".pyx"), ("SConstruct", "SConscript")),
    "R": ("#198CE7", (".r",), ()),
    "Racket": ("#3c5caa", (".rkt",), ()),
    "Ruby": ("#701516", (".rb", ".rake", ".gemspec", ".ru"), ("Rakefile", "Gemfile", "Vagrantfile", "Podfile")),
    "Rust": ("#dea584", (".rs",), ()),
    "Sass": ("#a53b70", (".sass",), ()),
    "Scala": ("#c22d40", (".scala", ".sc"), ()),
    "Scheme": ("#1e4aec", (".scm", ".ss"), ()),
    "SCSS": ("#c6538c", (".scss",), ()),
    "Shell": ("#89e051", (".sh", ".bash", ".zsh", ".ksh"),
              (".bashrc", ".bash_profile", ".zshrc", ".profile")),
    "Solidity": ("#AA6746", (".sol",), ()),
    "Starlark": ("#76d275", (".bzl", ".star"), ("BUILD", "BUILD.bazel", "WORKSPACE")),
    "Stylus": ("#ff6347", (".styl",), ()),
    "Svelte": ("#ff3e00", (".svelte",), ()),
    "Swift": ("#F05138", (".swift",), ()),
    "Tcl": ("#e4cc98", (".tcl",), ()),
    "TeX": ("#3D6117", (".tex", ".sty"), ()),
    "TSX": ("#3178c6", (".tsx",), ()),
    "TypeScript": ("#3178c6", (".ts", ".mts", ".cts"), ()),
    "Vim Script": ("#199f4b", (".vim",), (".vimrc",)),
    "Visual Basic .NET": ("#945db7", (".vb",), ()),
    "Vue": ("#41b883", (".vue",), ()),
    "Zig": ("#ec915c", (".zig",), ()),
}

_BY_EXTENSION: dict[str, tuple[str, str]] = {}
_BY_NAME: dict[str, tuple[str, str]] = {}
for _name, (_colour, _extensions, _file_names) in _LANGUAGES.items():
    for _extension in _extensions:
        assert _extension not in _BY_EXTENSION, _extension
        _BY_EXTENSION[_extension] = (_name, _colour)
    for _file_name in _file_names:
        _BY_NAME[_file_name] = (_name, _colour)

# Linguist's vendor.yml and documentation.yml, for the obvious cases.
_VENDORED = re.compile(
    r"(^|/)(vendors?|node_modules|bower_components|[Tt]hird[-_]?[Pp]arty|3rd[-_]?[Pp]arty|extern(al)?"
    r"|dist|Pods|Carthage|\.yarn)/"
    r"|(\.|-)min\.(js|css)$"
    r"|(^|/)jquery([^./]*|-\d\.\d+(\.\d+)?)\.js$"
)
_DOCUMENTATION = re.compile(
    r"^docs?/|^Documentation/"
    r"|(^|/)(CONTRIBUTING|COPYING|LICEN[CS]E|README)(\.|$)"
)


def language_of(path: str) -> tuple[str, str] | None:
    """(name, colour) of a file's language by its name or extension; None for prose, data, images
    and anything unknown."""
    name = os.path.basename(path)
    known = _BY_NAME.get(name)
    if known:
        return known
    if name.startswith("Dockerfile."):          # Dockerfile.dev, Dockerfile.prod
        return _BY_NAME["Dockerfile"]
    extension = os.path.splitext(name)[1].lower()
    return _BY_EXTENSION.get(extension) if extension else None


def is_counted(path: str) -> bool:
    """False for vendored and documentation paths, which the language bar leaves out."""
    return not (_VENDORED.search(path) or _DOCUMENTATION.search(path))


def language_stats(files: Iterable[tuple[str, int]]) -> list[LanguageShare]:
    """(path, size) pairs -> each language's share of the counted bytes, largest first, languages
    under FOLD_BELOW_PERCENT folded into one "Other" share placed last. Paths may also be bytes
    (as the store keeps them); they are decoded as UTF-8."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for path, size in files:
        if isinstance(path, bytes):
            path = path.decode("utf-8", "surrogateescape")
        if size <= 0 or not is_counted(path):
            continue
        language = language_of(path)
        if language:
            totals[language] += size
    total = sum(totals.values())
    if not total:
        return []
    shares: list[LanguageShare] = []
    other_bytes = 0
    for (name, colour), size in sorted(totals.items(), key=lambda item: (-item[1], item[0][0])):
        if 100 * size / total < FOLD_BELOW_PERCENT:
            other_bytes += size
        else:
            shares.append(LanguageShare(name, colour, size, round(100 * size / total, 1)))
    if other_bytes:
        shares.append(LanguageShare(OTHER_NAME, OTHER_COLOUR, other_bytes, round(100 * other_bytes / total, 1)))
    return shares

"""Builds the optional C helper _speedups (make setup runs this). Without a C compiler Forge runs
the pure-Python check_tree_py instead, slower on big pushes but the same in every answer."""
import os
import shutil
import subprocess
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "_speedups.c")
TARGET = os.path.join(HERE, "_speedups" + sysconfig.get_config_var("EXT_SUFFIX"))


def main():
    if os.path.exists(TARGET) and os.path.getmtime(TARGET) >= os.path.getmtime(SOURCE):
        return 0
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        print("build_native: no C compiler; using the pure-Python tree checks", file=sys.stderr)
        return 0
    command = [compiler, "-O2", "-Wall", "-shared", "-fPIC", "-I", sysconfig.get_paths()["include"],
               SOURCE, "-o", TARGET + ".tmp", "-lz"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"build_native: compiling {SOURCE} failed; using the pure-Python tree checks\n"
              f"{result.stderr}", file=sys.stderr)
        return 0
    os.replace(TARGET + ".tmp", TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())

import sys


def run() -> int:
    print(f"weather-cli: sunny (argv0={sys.argv[0]})")
    return 0

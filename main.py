"""NN Playground entry point: no arguments opens the window; subcommands run headless."""
import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from cli import run_cli

    return run_cli(argv)


if __name__ == "__main__":
    sys.exit(main())

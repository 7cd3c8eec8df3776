"""Command line: ``python -m skpr demo`` and ``python -m skpr analyze DATA``."""

import argparse
import sys

import numpy as np

from skpr import __version__
from skpr._demo import DEFAULT_OUTPUT, IMAGE_SUFFIXES, check_figure_path, run_demo
from skpr._extras import install_command


def _figure_path(value):
    """Type of ``--output``: a file the figure can be written to, checked at once."""
    try:
        check_figure_path(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m skpr",
        description="Prediction rigidities (PR, LPR, CPR) for scikit-learn. The "
        "library is used from Python (import skpr); this command line runs a "
        "worked example on data shipped with the package (demo) and a rigidity "
        "analysis of your own files (analyze).",
        epilog="Run 'python -m skpr COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"skpr {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )
    demo = commands.add_parser(
        "demo",
        help="fit BlockRidge on the bundled NICE methane set and report its "
        "prediction rigidities and calibration",
        description="Fit BlockRidge on the bundled NICE methane energies (500 "
        "structures, 160 features; 80/20 train/test split, alpha by exact "
        "leave-one-out), then print the test RMSE, the prediction rigidities "
        "(PR) of the training and test structures and the calibration of the "
        "predicted uncertainties on the test set, and write the calibration "
        "figure. Takes a few seconds. The figure needs matplotlib "
        f"({install_command('plot')}); without it the report is printed alone.",
    )
    demo.add_argument(
        "--output",
        metavar="FILE",
        type=_figure_path,
        default=DEFAULT_OUTPUT,
        help="file for the calibration figure; its folder must exist and its "
        f"suffix sets the format ({', '.join(IMAGE_SUFFIXES)}); checked before "
        "any work (default: %(default)s, in the current folder)",
    )
    demo.add_argument(
        "--seed",
        metavar="N",
        type=int,
        default=0,
        help="seed of the random train/test split (default: %(default)s)",
    )
    analyze = commands.add_parser(
        "analyze",
        help="choose alpha, fit and report rigidities and calibration for your "
        "own features and targets or structures",
        description="A rigidity analysis of your own data. DATA holds features and "
        "a target (.npz: arrays named by --features/--target, or X and y; .npy: "
        "a 2-D array whose last column is the target; .csv: a header row, the "
        "--target column, default the last) or structures with energies and, "
        "with --forces, forces (extended XYZ .xyz/.extxyz; needs the atomistic "
        "extra; descriptors: SOAP power spectrum + element counts). The data "
        "are split into "
        "training and test samples; alpha is chosen by exact leave-one-out on "
        "the training split (BlockRidgeCV); the test RMSE, the leave-one-out "
        "RMSE, the prediction rigidities (PR) and the calibration of the "
        "uncertainties on the test split are printed; every sample's "
        "prediction, std, PR and CPR (and every atom's LPR, and with --forces "
        "its predicted forces and their std, for structures) are written to "
        "--output; --figures writes the calibration, parity and PR figures. "
        "'Within k sigma' means |error| <= k std throughout. Files, fields and "
        "outputs are checked before any long work.",
    )
    analyze.add_argument("data", metavar="DATA", help="the input file")
    analyze.add_argument(
        "--output",
        metavar="FILE",
        default="skpr-analysis.csv",
        help="per-sample results, .csv (atoms in FILE-atoms.csv) or .npz "
        "(default: %(default)s)",
    )
    analyze.add_argument(
        "--figures", metavar="FOLDER", help="write the calibration and PR figures here"
    )
    analyze.add_argument("--target", metavar="NAME", help="target array or column")
    analyze.add_argument("--features", metavar="NAME", help="features array (.npz)")
    analyze.add_argument(
        "--energy",
        metavar="KEY",
        default="energy",
        help="energy field of the structures: an info key, or the calculator's "
        "energy (default: %(default)s)",
    )
    analyze.add_argument(
        "--forces",
        metavar="KEY",
        help="also fit forces: a per-atom field of the structures, or 'forces' "
        "for the calculator's; energies and forces are then fitted together, "
        "each structure left out whole, with one uncertainty scale per kind",
    )
    analyze.add_argument(
        "--force-weight",
        metavar="W",
        type=float,
        default=1.0,
        help="loss weight of each force component relative to an energy, in "
        "(Å)² (default: %(default)s)",
    )
    analyze.add_argument(
        "--alphas",
        metavar=("LOW", "HIGH", "N"),
        nargs=3,
        type=float,
        help="the grid of alpha: N values spaced evenly in log between LOW and "
        "HIGH (default: 1e-10 1e2 25)",
    )
    analyze.add_argument(
        "--units",
        metavar="TEXT",
        help="units of the target (e.g. eV) for the report and the figures; "
        "forces are in TEXT/Å",
    )
    analyze.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (shown on the descriptor work when tqdm is installed)",
    )
    analyze.add_argument(
        "--cutoff",
        metavar="Å",
        type=float,
        default=4.0,
        help="SOAP cutoff for structures (default: %(default)s)",
    )
    analyze.add_argument(
        "--test-fraction",
        metavar="F",
        type=float,
        default=0.2,
        help="fraction of samples held out for the test (default: %(default)s)",
    )
    analyze.add_argument(
        "--seed",
        metavar="N",
        type=int,
        default=0,
        help="seed of the train/test split (default: %(default)s)",
    )
    return parser


def _alpha_grid(parser, values):
    if values is None:
        return None
    low, high, n = values
    if not (0 < low < high and n >= 2 and float(n).is_integer()):
        parser.error(
            f"--alphas LOW HIGH N needs 0 < LOW < HIGH and an integer N >= 2; got "
            f"{low:g} {high:g} {n:g}"
        )
    return np.logspace(np.log10(low), np.log10(high), int(n))


def main(argv=None):
    """Run the command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments after ``python -m skpr``; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status, 0 on success. Wrong arguments, including an ``--output``
        that cannot be written, print a one-line error after the usage and
        exit with status 2 (:class:`SystemExit`), as argparse does.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        run_demo(args.output, seed=args.seed)
    elif args.command == "analyze":
        from skpr._analyze import InputError, analyze

        try:
            analyze(
                args.data,
                output=args.output,
                figures=args.figures,
                target=args.target,
                features=args.features,
                energy=args.energy,
                forces=args.forces,
                alphas=_alpha_grid(parser, args.alphas),
                force_weight=args.force_weight,
                units=args.units,
                progress=False if args.no_progress else None,
                cutoff=args.cutoff,
                test_fraction=args.test_fraction,
                seed=args.seed,
            )
        except InputError as error:
            parser.exit(2, f"python -m skpr analyze: error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

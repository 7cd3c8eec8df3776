"""Small real data sets shipped with skpr.

Every loader reads its file from ``skpr/datasets/data/`` on each call and returns
a :class:`sklearn.utils.Bunch` built from fresh arrays and objects, so that a
caller may modify the result without affecting later calls.

Three data sets are feature matrices from scikit-matter (BSD 3-Clause License,
Copyright (c) 2020 the sklearn-matter contributors, the project now named
scikit-matter); three are extended-XYZ structure files from metatrain (BSD 3-Clause
License, Copyright (c) 2023, Laboratory of Computational Science and Modeling). The
full licence text ships next to the data in ``skpr/datasets/data/LICENSE``.

The structure loaders (:func:`load_qm9`, :func:`load_ethanol`, :func:`load_carbon`)
need the optional dependency ASE: ``pip install "skpr[atomistic]"``.
"""

from importlib.resources import as_file, files

import numpy as np
from sklearn.utils import Bunch

__all__ = [
    "load_carbon",
    "load_csd_shieldings",
    "load_degenerate_methane",
    "load_ethanol",
    "load_nice_methane",
    "load_qm9",
]

_SCIKIT_MATTER_LICENCE = (
    "Licence: BSD 3-Clause License, Copyright (c) 2020 the sklearn-matter "
    "contributors (the project now named scikit-matter). Full text in "
    "skpr/datasets/data/LICENSE."
)
_METATRAIN_LICENCE = (
    "Licence: BSD 3-Clause License, Copyright (c) 2023, Laboratory of "
    "Computational Science and Modeling (metatrain). Full text in "
    "skpr/datasets/data/LICENSE."
)

_NICE_DESCR = f"""\
NICE features of randomly displaced methane
===========================================

500 methane (CH4) configurations with random atomic displacements, one row per
structure.

- data: (500, 160) float, NICE invariants (N-body iterative contraction of
  equivariants; Nigam, Pozdnyakov and Ceriotti, J. Chem. Phys. 153, 121101, 2020)
  of the structure, dimensionless.
- target: (500,) float, total energy of each configuration in eV.

Origin: scikit-matter, file nice_dataset.npz (keys structural_features and
energies). The configurations are the first 500 of the randomly displaced methane
set of Pozdnyakov et al., Phys. Rev. Lett. 125, 166001 (2020).

{_SCIKIT_MATTER_LICENCE}
"""

_CSD_DESCR = f"""\
Per-atom SOAP features and NMR chemical shieldings from CSD-1000r
=================================================================

500 atomic environments taken from 305 crystal structures of the CSD-1000r set
(https://doi.org/10.1038/s41597-019-0224-1), one row per environment.

- data: (500, 100) float, SOAP power spectrum features of the environment
  (100 columns selected from the full power spectrum by farthest point sampling).
- target: (500,) float, local NMR chemical shielding of the central atom in ppm.
  Shieldings of different elements are mixed in one vector; the file does not
  record the element of each atom.
- structure_index: (500,) int, structure of each environment, relabelled to
  0..304 in order of first appearance.
- atom_index: (500,) int, index of the atom within its structure in CSD-1000r.

Origin: scikit-matter, file csd-1000r.npz (keys X, Y, original_mapping).

{_SCIKIT_MATTER_LICENCE}
"""

_DEGENERATE_DESCR = f"""\
Degenerate manifold of methane carbon environments
==================================================

Features of the carbon-centred environment in 2 x 81 methane structures lying on
two manifolds. On the power spectrum (3-body) the two manifolds are nearly
indistinguishable; the bispectrum (4-body) tells them apart (Pozdnyakov et al.,
Phys. Rev. Lett. 125, 166001, 2020).

- power_spectrum: (162, 12) float, SOAP power spectrum of the carbon centre.
- bispectrum: (162, 12) float, SOAP bispectrum of the carbon centre reduced to
  12 components by principal component analysis.
- manifold: (162,) int, 0 for rows 0-80 (the "X minus" manifold), 1 for rows
  81-161 (the "X plus" manifold).

There are no targets. Origin: scikit-matter, file degenerate_CH4_manifold.npz
(keys SOAP_power_spectrum and SOAP_bispectrum).

{_SCIKIT_MATTER_LICENCE}
"""

_QM9_DESCR = f"""\
QM9, 100 molecules
==================

100 small organic molecules (elements H, C, N, O; 3 to 17 atoms) from QM9,
non-periodic, positions in Angstrom.

- structures: list of 100 ase.Atoms; every property of the file is in
  atoms.info, with the field names listed in info_names (A, B, C, mu, alpha,
  epsHOMO, epsLUMO, epsgap, <R2>, zpve, U0, U, H, G, Cv).
- energy: (100,) float, U0 in Hartree.

U0, U, H, G, zpve, epsHOMO, epsLUMO and epsgap are in Hartree. There are no
forces.

Origin: metatrain, file docs/static/qm9/qm9_reduced_100.xyz.

{_METATRAIN_LICENCE}
"""

_ETHANOL_DESCR = f"""\
Ethanol molecular dynamics, 100 frames
======================================

100 frames of a single ethanol molecule (C2H6O, 9 atoms), non-periodic, positions
in Angstrom. ASE reads the energy and forces as calculator results, so
atoms.get_potential_energy() and atoms.get_forces() return them.

- structures: list of 100 ase.Atoms.
- energy: (100,) float, total energy in kcal/mol.
- forces: list of 100 (9, 3) float arrays in kcal/mol/Angstrom.

Origin: metatrain, file examples/ase/ethanol_reduced_100.xyz.

{_METATRAIN_LICENCE}
"""

_CARBON_DESCR = f"""\
Periodic carbon cells from the GAP-17 carbon set, 100 cells
===========================================================

100 periodic cells of 4 carbon atoms each, positions and cells in Angstrom. The
file labels all of them config_type=bulk_cryst, detailed_ct=dist_graphite
(distorted graphite), computed with CASTEP and the LDA functional; the DFT
settings are kept in atoms.info.

- structures: list of 100 ase.Atoms. ASE reads the energy as a calculator result;
  the forces are the per-atom array atoms.arrays["force"] and the virial is
  atoms.info["virial"].
- energy: (100,) float, total energy of the cell in eV.
- forces: list of 100 (4, 3) float arrays in eV/Angstrom.
- virial: (100, 3, 3) float, virial of the cell in eV.

Origin: metatrain, file tests/resources/carbon_reduced_100.xyz.

{_METATRAIN_LICENCE}
"""


def _data_path(name):
    """Return the packaged data file ``name`` as a ``Traversable``."""
    return files("skpr.datasets") / "data" / name


def _load_npz(name):
    """Read every array of a packaged ``.npz`` file into a new dict."""
    with as_file(_data_path(name)) as path, np.load(path) as npz:
        return {key: npz[key] for key in npz.files}


def _read_structures(name):
    """Read every frame of a packaged extended-XYZ file as a list of ase.Atoms."""
    try:
        import ase.io
    except ImportError as error:
        raise ImportError(
            f"Loading {name} needs the optional dependency ASE, which is not "
            'installed. Install it with: pip install "skpr[atomistic]"'
        ) from error
    with as_file(_data_path(name)) as path:
        return ase.io.read(path, index=":")


def load_nice_methane():
    """Load NICE features and energies of 500 randomly displaced methane molecules.

    One row per structure: each methane (CH4) configuration is described by 160
    NICE invariants and labelled by its total energy. A quick, real regression
    problem for prediction rigidities of whole structures.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        data : ndarray of shape (500, 160)
            NICE invariant features of each structure (dimensionless).
        target : ndarray of shape (500,)
            Total energy of each structure, in eV.
        units : dict
            ``{"target": "eV"}``.
        DESCR : str
            Description of the data set, its origin and licence.

    Notes
    -----
    Origin: ``nice_dataset.npz`` from scikit-matter (keys ``structural_features``
    and ``energies``); the configurations are the first 500 of the randomly
    displaced methane set of Pozdnyakov et al., Phys. Rev. Lett. 125, 166001
    (2020); the features follow Nigam, Pozdnyakov and Ceriotti, J. Chem. Phys.
    153, 121101 (2020).

    Licence: BSD 3-Clause License, Copyright (c) 2020 the sklearn-matter
    contributors (the project now named scikit-matter).

    Examples
    --------
    >>> from skpr.datasets import load_nice_methane
    >>> methane = load_nice_methane()
    >>> methane.data.shape, methane.target.shape
    ((500, 160), (500,))
    >>> methane.units["target"]
    'eV'
    """
    arrays = _load_npz("nice_dataset.npz")
    return Bunch(
        data=arrays["structural_features"],
        target=arrays["energies"],
        units={"target": "eV"},
        DESCR=_NICE_DESCR,
    )


def load_csd_shieldings():
    """Load per-atom SOAP features and NMR chemical shieldings from CSD-1000r.

    One row per atomic environment: 500 environments taken from 305 molecular
    crystal structures, each with 100 SOAP power spectrum features and the
    chemical shielding of its central atom. Real per-environment features for
    local prediction rigidities; ``structure_index`` groups the rows by
    structure.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        data : ndarray of shape (500, 100)
            SOAP power spectrum features of each environment.
        target : ndarray of shape (500,)
            NMR chemical shielding of each central atom, in ppm. Shieldings of
            different elements share this vector; the file does not record the
            element of each atom.
        structure_index : ndarray of shape (500,), dtype int
            Structure of each environment, relabelled to ``0..304`` in order of
            first appearance.
        atom_index : ndarray of shape (500,), dtype int
            Index of the atom within its structure in CSD-1000r.
        units : dict
            ``{"target": "ppm"}``.
        DESCR : str
            Description of the data set, its origin and licence.

    Notes
    -----
    Origin: ``csd-1000r.npz`` from scikit-matter (keys ``X``, ``Y`` and
    ``original_mapping``, whose columns are the structure id and the atom id in
    CSD-1000r, https://doi.org/10.1038/s41597-019-0224-1).

    Licence: BSD 3-Clause License, Copyright (c) 2020 the sklearn-matter
    contributors (the project now named scikit-matter).

    Examples
    --------
    >>> import numpy as np
    >>> from skpr.datasets import load_csd_shieldings
    >>> csd = load_csd_shieldings()
    >>> csd.data.shape, csd.target.shape
    ((500, 100), (500,))
    >>> n_environments = np.bincount(csd.structure_index)
    >>> n_environments.size, int(n_environments.max())
    (305, 8)
    """
    arrays = _load_npz("csd-1000r.npz")
    structure_id, atom_index = arrays["original_mapping"].T
    # Relabel the structure ids 0..n-1 in order of first appearance.
    _, first, inverse = np.unique(structure_id, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.intp)
    rank[np.argsort(first)] = np.arange(first.size)
    return Bunch(
        data=arrays["X"],
        target=arrays["Y"].ravel(),
        structure_index=rank[inverse],
        atom_index=atom_index.astype(np.intp),
        units={"target": "ppm"},
        DESCR=_CSD_DESCR,
    )


def load_degenerate_methane():
    """Load power spectrum and bispectrum of two degenerate methane manifolds.

    Features of the carbon-centred environment in 2 x 81 methane structures lying
    on two manifolds that the SOAP power spectrum barely separates and the
    bispectrum separates well. A natural two-block case for component
    rigidities; there are no targets.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        power_spectrum : ndarray of shape (162, 12)
            SOAP power spectrum of the carbon centre.
        bispectrum : ndarray of shape (162, 12)
            SOAP bispectrum of the carbon centre, reduced to 12 principal
            components.
        manifold : ndarray of shape (162,), dtype int
            ``0`` for rows 0-80 (the "X minus" manifold), ``1`` for rows 81-161
            (the "X plus" manifold).
        DESCR : str
            Description of the data set, its origin and licence.

    Notes
    -----
    Origin: ``degenerate_CH4_manifold.npz`` from scikit-matter (keys
    ``SOAP_power_spectrum`` and ``SOAP_bispectrum``); the manifolds are those of
    Pozdnyakov et al., Phys. Rev. Lett. 125, 166001 (2020).

    Licence: BSD 3-Clause License, Copyright (c) 2020 the sklearn-matter
    contributors (the project now named scikit-matter).

    Examples
    --------
    >>> import numpy as np
    >>> from skpr.datasets import load_degenerate_methane
    >>> manifolds = load_degenerate_methane()
    >>> manifolds.power_spectrum.shape, manifolds.bispectrum.shape
    ((162, 12), (162, 12))
    >>> np.bincount(manifolds.manifold)
    array([81, 81])
    """
    arrays = _load_npz("degenerate_CH4_manifold.npz")
    n_samples = arrays["SOAP_power_spectrum"].shape[0]
    return Bunch(
        power_spectrum=arrays["SOAP_power_spectrum"],
        bispectrum=arrays["SOAP_bispectrum"],
        manifold=(np.arange(n_samples) >= n_samples // 2).astype(np.intp),
        DESCR=_DEGENERATE_DESCR,
    )


def load_qm9():
    """Load 100 QM9 molecules with their properties.

    Requires ASE (``pip install "skpr[atomistic]"``).

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        structures : list of ase.Atoms
            The 100 non-periodic molecules (H, C, N, O; 3 to 17 atoms),
            positions in Å. Every property of the file is in ``atoms.info``.
        energy : ndarray of shape (100,)
            Internal energy at 0 K, ``U0``, in Hartree.
        info_names : tuple of str
            Names of the per-molecule fields in ``atoms.info``: ``A``, ``B``,
            ``C``, ``mu``, ``alpha``, ``epsHOMO``, ``epsLUMO``, ``epsgap``,
            ``<R2>``, ``zpve``, ``U0``, ``U``, ``H``, ``G``, ``Cv``.
        units : dict
            Units of ``energy``, of the positions and of the energy-like fields
            (``U0``, ``U``, ``H``, ``G``, ``zpve``, ``epsHOMO``, ``epsLUMO``,
            ``epsgap``, all in Hartree).
        DESCR : str
            Description of the data set, its origin and licence.

    Raises
    ------
    ImportError
        If ASE is not installed.

    Notes
    -----
    Origin: ``docs/static/qm9/qm9_reduced_100.xyz`` from metatrain. There are no
    forces.

    Licence: BSD 3-Clause License, Copyright (c) 2023, Laboratory of
    Computational Science and Modeling.

    Examples
    --------
    >>> from skpr.datasets import load_qm9
    >>> qm9 = load_qm9()
    >>> len(qm9.structures), qm9.energy.shape
    (100, (100,))
    >>> qm9.structures[0].get_chemical_formula(), float(qm9.energy[0])
    ('CH4', -40.47893)
    >>> qm9.units["energy"], "epsgap" in qm9.info_names
    ('Hartree', True)
    """
    structures = _read_structures("qm9_reduced_100.xyz")
    hartree_fields = ("U0", "U", "H", "G", "zpve", "epsHOMO", "epsLUMO", "epsgap")
    return Bunch(
        structures=structures,
        energy=np.array([atoms.info["U0"] for atoms in structures], dtype=float),
        info_names=tuple(structures[0].info),
        units={"energy": "Hartree", "positions": "Å"}
        | dict.fromkeys(hartree_fields, "Hartree"),
        DESCR=_QM9_DESCR,
    )


def load_ethanol():
    """Load 100 ethanol molecular-dynamics frames with energies and forces.

    Requires ASE (``pip install "skpr[atomistic]"``).

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        structures : list of ase.Atoms
            The 100 non-periodic frames of one ethanol molecule (C2H6O, 9 atoms),
            positions in Å. Energy and forces are attached as calculator
            results (``atoms.get_potential_energy()``, ``atoms.get_forces()``).
        energy : ndarray of shape (100,)
            Total energy of each frame, in kcal/mol.
        forces : list of ndarray of shape (9, 3)
            Forces on the atoms of each frame, in kcal/mol/Å.
        units : dict
            ``{"energy": "kcal/mol", "forces": "kcal/mol/Å", "positions": "Å"}``.
        DESCR : str
            Description of the data set, its origin and licence.

    Raises
    ------
    ImportError
        If ASE is not installed.

    Notes
    -----
    Origin: ``examples/ase/ethanol_reduced_100.xyz`` from metatrain.

    Licence: BSD 3-Clause License, Copyright (c) 2023, Laboratory of
    Computational Science and Modeling.

    Examples
    --------
    >>> from skpr.datasets import load_ethanol
    >>> ethanol = load_ethanol()
    >>> len(ethanol.structures), ethanol.energy.shape, ethanol.forces[0].shape
    (100, (100,), (9, 3))
    >>> float(ethanol.energy[0])
    -97079.92222178938
    >>> ethanol.units["forces"]
    'kcal/mol/Å'
    """
    structures = _read_structures("ethanol_reduced_100.xyz")
    return Bunch(
        structures=structures,
        energy=np.array(
            [atoms.get_potential_energy() for atoms in structures], dtype=float
        ),
        forces=[np.array(atoms.get_forces(), dtype=float) for atoms in structures],
        units={"energy": "kcal/mol", "forces": "kcal/mol/Å", "positions": "Å"},
        DESCR=_ETHANOL_DESCR,
    )


def load_carbon():
    """Load 100 periodic carbon cells with energies, forces and virials.

    Cells of 4 carbon atoms from the GAP-17 carbon training set, all labelled
    distorted graphite in the file. Requires ASE
    (``pip install "skpr[atomistic]"``).

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        structures : list of ase.Atoms
            The 100 periodic cells, positions and cells in Å. The energy is
            attached as a calculator result (``atoms.get_potential_energy()``);
            the forces are the per-atom array ``atoms.arrays["force"]`` and the
            virial is ``atoms.info["virial"]``, as in the file.
        energy : ndarray of shape (100,)
            Total energy of each cell, in eV.
        forces : list of ndarray of shape (4, 3)
            Forces on the atoms of each cell, in eV/Å.
        virial : ndarray of shape (100, 3, 3)
            Virial of each cell, in eV.
        units : dict
            ``{"energy": "eV", "forces": "eV/Å", "virial": "eV",
            "positions": "Å"}``.
        DESCR : str
            Description of the data set, its origin and licence.

    Raises
    ------
    ImportError
        If ASE is not installed.

    Notes
    -----
    Origin: ``tests/resources/carbon_reduced_100.xyz`` from metatrain, a subset
    of the GAP-17 carbon data (CASTEP, LDA, as recorded in ``atoms.info``).

    Licence: BSD 3-Clause License, Copyright (c) 2023, Laboratory of
    Computational Science and Modeling.

    Examples
    --------
    >>> from skpr.datasets import load_carbon
    >>> carbon = load_carbon()
    >>> len(carbon.structures), carbon.energy.shape, carbon.virial.shape
    (100, (100,), (100, 3, 3))
    >>> carbon.forces[0].shape, bool(carbon.structures[0].pbc.all())
    ((4, 3), True)
    >>> float(carbon.energy[0])
    -632.106478
    """
    structures = _read_structures("carbon_reduced_100.xyz")
    return Bunch(
        structures=structures,
        energy=np.array(
            [atoms.get_potential_energy() for atoms in structures], dtype=float
        ),
        forces=[np.array(atoms.arrays["force"], dtype=float) for atoms in structures],
        virial=np.array([atoms.info["virial"] for atoms in structures], dtype=float),
        units={"energy": "eV", "forces": "eV/Å", "virial": "eV", "positions": "Å"},
        DESCR=_CARBON_DESCR,
    )

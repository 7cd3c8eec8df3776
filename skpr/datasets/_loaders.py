"""The public loaders of :mod:`skpr.datasets`, one per data set.

Each loader reads its data file and its description on every call and returns
a :class:`sklearn.utils.Bunch` of fresh arrays and objects. The description of
each data set is ``descr/<name>.rst``; :func:`~skpr.datasets._files.with_description`
puts it into the loader's docstring after the one-line summary.
"""

import numpy as np
from sklearn.utils import Bunch

from skpr.datasets._files import (
    description,
    load_npz,
    read_structures,
    with_description,
)


@with_description("nice_methane")
def load_nice_methane():
    """Load NICE features and energies of 500 randomly displaced methane molecules.

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
            The description above: contents, origin and licence.

    Examples
    --------
    >>> from skpr.datasets import load_nice_methane
    >>> methane = load_nice_methane()
    >>> methane.data.shape, methane.target.shape
    ((500, 160), (500,))
    >>> methane.units["target"]
    'eV'
    """
    arrays = load_npz("nice_dataset.npz")
    return Bunch(
        data=arrays["structural_features"],
        target=arrays["energies"],
        units={"target": "eV"},
        DESCR=description("nice_methane"),
    )


@with_description("csd_shieldings")
def load_csd_shieldings():
    """Load per-atom SOAP features and NMR chemical shieldings from CSD-1000r.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        data : ndarray of shape (500, 100)
            SOAP power spectrum features of each environment.
        target : ndarray of shape (500,)
            NMR chemical shielding of each central atom, in ppm, all elements
            in one vector.
        structure_index : ndarray of shape (500,), dtype int
            Structure of each environment, ``0..304`` in order of first
            appearance.
        atom_index : ndarray of shape (500,), dtype int
            Index of the atom within its structure in CSD-1000r.
        units : dict
            ``{"target": "ppm"}``.
        DESCR : str
            The description above: contents, origin and licence.

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
    arrays = load_npz("csd-1000r.npz")
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
        DESCR=description("csd_shieldings"),
    )


@with_description("degenerate_methane")
def load_degenerate_methane():
    """Load power spectrum and bispectrum of two degenerate methane manifolds.

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
            ``0`` for rows 0-80, ``1`` for rows 81-161.
        DESCR : str
            The description above: contents, origin and licence.

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
    arrays = load_npz("degenerate_CH4_manifold.npz")
    n_samples = arrays["SOAP_power_spectrum"].shape[0]
    return Bunch(
        power_spectrum=arrays["SOAP_power_spectrum"],
        bispectrum=arrays["SOAP_bispectrum"],
        manifold=(np.arange(n_samples) >= n_samples // 2).astype(np.intp),
        DESCR=description("degenerate_methane"),
    )


@with_description("qm9")
def load_qm9():
    """Load 100 QM9 molecules with their properties.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        structures : list of ase.Atoms
            The 100 molecules; every property of the file is in
            ``atoms.info``.
        energy : ndarray of shape (100,)
            ``U0`` of each molecule, in Hartree.
        info_names : tuple of str
            Names of the per-molecule fields in ``atoms.info``, in file order.
        units : dict
            Units of ``energy``, of the positions and of the energy-like fields
            of ``atoms.info`` (``U0``, ``U``, ``H``, ``G``, ``zpve``,
            ``epsHOMO``, ``epsLUMO``, ``epsgap``).
        DESCR : str
            The description above: contents, origin and licence.

    Raises
    ------
    ImportError
        If ASE is not installed.

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
    structures = read_structures("qm9_reduced_100.xyz")
    hartree_fields = ("U0", "U", "H", "G", "zpve", "epsHOMO", "epsLUMO", "epsgap")
    return Bunch(
        structures=structures,
        energy=np.array([atoms.info["U0"] for atoms in structures], dtype=float),
        info_names=tuple(structures[0].info),
        units={"energy": "Hartree", "positions": "Å"}
        | dict.fromkeys(hartree_fields, "Hartree"),
        DESCR=description("qm9"),
    )


@with_description("ethanol")
def load_ethanol():
    """Load 100 ethanol molecular-dynamics frames with energies and forces.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        structures : list of ase.Atoms
            The 100 frames, with energy and forces as calculator results.
        energy : ndarray of shape (100,)
            Total energy of each frame, in kcal/mol.
        forces : list of ndarray of shape (9, 3)
            Forces on the atoms of each frame, in kcal/mol/Å.
        units : dict
            ``{"energy": "kcal/mol", "forces": "kcal/mol/Å", "positions": "Å"}``.
        DESCR : str
            The description above: contents, origin and licence.

    Raises
    ------
    ImportError
        If ASE is not installed.

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
    structures = read_structures("ethanol_reduced_100.xyz")
    return Bunch(
        structures=structures,
        energy=np.array(
            [atoms.get_potential_energy() for atoms in structures], dtype=float
        ),
        forces=[np.array(atoms.get_forces(), dtype=float) for atoms in structures],
        units={"energy": "kcal/mol", "forces": "kcal/mol/Å", "positions": "Å"},
        DESCR=description("ethanol"),
    )


@with_description("carbon")
def load_carbon():
    """Load 100 periodic carbon cells with energies, forces and virials.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        structures : list of ase.Atoms
            The 100 periodic cells, with the energy as a calculator result, the
            forces in ``atoms.arrays["force"]`` and the virial in
            ``atoms.info["virial"]``.
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
            The description above: contents, origin and licence.

    Raises
    ------
    ImportError
        If ASE is not installed.

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
    structures = read_structures("carbon_reduced_100.xyz")
    return Bunch(
        structures=structures,
        energy=np.array(
            [atoms.get_potential_energy() for atoms in structures], dtype=float
        ),
        forces=[np.array(atoms.arrays["force"], dtype=float) for atoms in structures],
        virial=np.array([atoms.info["virial"] for atoms in structures], dtype=float),
        units={"energy": "eV", "forces": "eV/Å", "virial": "eV", "positions": "Å"},
        DESCR=description("carbon"),
    )


@with_description("silicon_clusters")
def load_silicon_clusters():
    """Load 1330 silicon clusters with Stillinger-Weber energies split by body order.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        structures : list of ase.Atoms
            The 1330 non-periodic clusters, with energy and forces as
            calculator results and ``energy_2body``, ``energy_3body``, ``kind``
            and (dimer curve only) ``distance`` in ``atoms.info``.
        energy : ndarray of shape (1330,)
            Total Stillinger-Weber energy of each cluster, in eV.
        energy_2body : ndarray of shape (1330,)
            Its 2-body part, in eV.
        energy_3body : ndarray of shape (1330,)
            Its 3-body part, ``energy - energy_2body``, in eV.
        forces : list of ndarray of shape (n_atoms, 3)
            Forces on the atoms of each cluster, in eV/Å.
        kind : ndarray of shape (1330,), dtype str
            ``"dimer"``, ``"trimer"``, ``"tetramer"``, ``"pentamer"`` or
            ``"dimer_curve"``.
        distance : ndarray of shape (1330,)
            Interatomic distance of the dimer-curve points, in Å; NaN for
            the other clusters.
        units : dict
            ``{"energy": "eV", "energy_2body": "eV", "energy_3body": "eV",
            "forces": "eV/Å", "distance": "Å", "positions": "Å"}``.
        DESCR : str
            The description above: contents, method, origin and licence.

    Raises
    ------
    ImportError
        If ASE is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr.datasets import load_silicon_clusters
    >>> clusters = load_silicon_clusters()
    >>> len(clusters.structures), clusters.energy.shape
    (1330, (1330,))
    >>> kinds, counts = np.unique(clusters.kind, return_counts=True)
    >>> kinds.tolist()
    ['dimer', 'dimer_curve', 'pentamer', 'tetramer', 'trimer']
    >>> counts.tolist()
    [150, 80, 800, 150, 150]
    >>> total = clusters.energy_2body + clusters.energy_3body
    >>> bool(np.allclose(total, clusters.energy, rtol=0, atol=1e-12))
    True
    """
    structures = read_structures("silicon_clusters.xyz")
    return Bunch(
        structures=structures,
        energy=np.array(
            [atoms.get_potential_energy() for atoms in structures], dtype=float
        ),
        energy_2body=np.array(
            [atoms.info["energy_2body"] for atoms in structures], dtype=float
        ),
        energy_3body=np.array(
            [atoms.info["energy_3body"] for atoms in structures], dtype=float
        ),
        forces=[np.array(atoms.get_forces(), dtype=float) for atoms in structures],
        kind=np.array([atoms.info["kind"] for atoms in structures], dtype=str),
        distance=np.array(
            [atoms.info.get("distance", np.nan) for atoms in structures], dtype=float
        ),
        units={
            "energy": "eV",
            "energy_2body": "eV",
            "energy_3body": "eV",
            "forces": "eV/Å",
            "distance": "Å",
            "positions": "Å",
        },
        DESCR=description("silicon_clusters"),
    )


@with_description("carbon_surfaces")
def load_carbon_surfaces():
    """Load 500 amorphous carbon cells, bulk and slabs, with Tersoff energies.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        structures : list of ase.Atoms
            The 500 periodic cells of 16 carbon atoms, 400 bulk cells then
            100 slabs, with energy and forces as calculator results and
            ``kind``, ``density`` and (slabs only) ``vacuum`` in
            ``atoms.info``.
        energy : ndarray of shape (500,)
            Tersoff energy of each cell, in eV.
        energy_per_atom : ndarray of shape (500,)
            ``energy / 16``, in eV/atom.
        forces : list of ndarray of shape (16, 3)
            Forces on the atoms of each cell, in eV/Å.
        kind : ndarray of shape (500,), dtype str
            ``"bulk"`` or ``"surface"``.
        density : ndarray of shape (500,)
            Density of each cell, for a slab without its vacuum gap, in
            g/cm^3.
        units : dict
            ``{"energy": "eV", "energy_per_atom": "eV/atom", "forces": "eV/Å",
            "density": "g/cm^3", "positions": "Å"}``.
        DESCR : str
            The description above: contents, method, origin and licence.

    Raises
    ------
    ImportError
        If ASE is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr.datasets import load_carbon_surfaces
    >>> carbon = load_carbon_surfaces()
    >>> len(carbon.structures), carbon.energy.shape
    (500, (500,))
    >>> kinds, counts = np.unique(carbon.kind, return_counts=True)
    >>> kinds.tolist(), counts.tolist()
    (['bulk', 'surface'], [400, 100])
    >>> dense = (carbon.kind == "bulk") & (carbon.density > 3.0)
    >>> per_atom = carbon.energy_per_atom
    >>> bool(per_atom[carbon.kind == "surface"].mean() > per_atom[dense].mean())
    True
    """
    structures = read_structures("carbon_surfaces.xyz")
    energy = np.array([atoms.get_potential_energy() for atoms in structures], float)
    return Bunch(
        structures=structures,
        energy=energy,
        energy_per_atom=energy / np.array([len(atoms) for atoms in structures]),
        forces=[np.array(atoms.get_forces(), dtype=float) for atoms in structures],
        kind=np.array([atoms.info["kind"] for atoms in structures], dtype=str),
        density=np.array([atoms.info["density"] for atoms in structures], float),
        units={
            "energy": "eV",
            "energy_per_atom": "eV/atom",
            "forces": "eV/Å",
            "density": "g/cm^3",
            "positions": "Å",
        },
        DESCR=description("carbon_surfaces"),
    )


@with_description("water_dimers")
def load_water_dimers():
    """Load 200 water dimers and 100 monomers with GFN2-xTB energies.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        structures : list of ase.Atoms
            The 300 non-periodic structures, dimers (sorted by O-O
            distance) first, with energy and forces as calculator results and
            ``kind``, ``oo_distance`` and ``energy_monomers`` (dimers only)
            in ``atoms.info``.
        energy : ndarray of shape (300,)
            GFN2-xTB energy, in eV.
        forces : list of ndarray of shape (n_atoms, 3)
            In eV/Å.
        kind : ndarray of shape (300,), dtype str
            ``"dimer"`` or ``"monomer"``.
        oo_distance : ndarray of shape (300,)
            O-O distance of the dimers, in Å; NaN for the monomers.
        interaction_energy : ndarray of shape (300,)
            Dimer energy minus that of its two molecules alone, in eV; NaN
            for the monomers.
        units : dict
            ``{"energy": "eV", "forces": "eV/Å", "oo_distance": "Å",
            "interaction_energy": "eV", "positions": "Å"}``.
        DESCR : str
            The description above: contents, method, origin and licence.

    Raises
    ------
    ImportError
        If ASE is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr.datasets import load_water_dimers
    >>> water = load_water_dimers()
    >>> np.unique(water.kind, return_counts=True)[1].tolist()
    [200, 100]
    >>> dimers = water.kind == "dimer"
    >>> bool(np.all(np.diff(water.oo_distance[dimers]) >= 0))
    True
    """
    structures = read_structures("water_dimers.xyz")
    energy = np.array([atoms.get_potential_energy() for atoms in structures], float)
    monomers = np.array(
        [atoms.info.get("energy_monomers", np.nan) for atoms in structures], float
    )
    return Bunch(
        structures=structures,
        energy=energy,
        forces=[np.array(atoms.get_forces(), dtype=float) for atoms in structures],
        kind=np.array([atoms.info["kind"] for atoms in structures], dtype=str),
        oo_distance=np.array(
            [atoms.info.get("oo_distance", np.nan) for atoms in structures], float
        ),
        interaction_energy=energy - monomers,
        units={
            "energy": "eV",
            "forces": "eV/Å",
            "oo_distance": "Å",
            "interaction_energy": "eV",
            "positions": "Å",
        },
        DESCR=description("water_dimers"),
    )


@with_description("liquid_carbon")
def load_liquid_carbon():
    """Load a snapshot of liquid carbon, 1728 atoms, with its Tersoff energy and forces.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields

        structure : ase.Atoms
            The periodic cubic cell of 1728 carbon atoms, with energy and
            forces as calculator results and ``temperature``, ``density``,
            ``seed`` and ``steps`` in ``atoms.info``.
        energy : float
            Tersoff energy of the cell, in eV.
        forces : ndarray of shape (1728, 3)
            Forces on the atoms, in eV/Å.
        density : float
            Density of the cell, in g/cm^3.
        temperature : float
            Thermostat temperature of the snapshot, in K.
        units : dict
            ``{"energy": "eV", "forces": "eV/Å", "density": "g/cm^3",
            "temperature": "K", "positions": "Å"}``.
        DESCR : str
            The description above: contents, method, origin and licence.

    Raises
    ------
    ImportError
        If ASE is not installed.

    Examples
    --------
    >>> from skpr.datasets import load_liquid_carbon
    >>> liquid = load_liquid_carbon()
    >>> len(liquid.structure), liquid.forces.shape
    (1728, (1728, 3))
    >>> bool(liquid.structure.pbc.all()), round(liquid.density, 6)
    (True, 2.2)
    >>> liquid.temperature, round(liquid.energy / len(liquid.structure), 2)
    (5000.0, -5.73)
    >>> len(liquid.structure.repeat(2))  # the size of the paper's structure
    13824
    """
    (structure,) = read_structures("liquid_carbon.xyz")
    return Bunch(
        structure=structure,
        energy=float(structure.get_potential_energy()),
        forces=np.array(structure.get_forces(), dtype=float),
        density=float(structure.info["density"]),
        temperature=float(structure.info["temperature"]),
        units={
            "energy": "eV",
            "forces": "eV/Å",
            "density": "g/cm^3",
            "temperature": "K",
            "positions": "Å",
        },
        DESCR=description("liquid_carbon"),
    )

"""The paper-reproduction layer: experiments and claims declared as data, run and judged.

* :mod:`.protocol`: what an experiment gets (``Context``) and declares (``Experiment``, ``Grid``);
* :mod:`.claims`: claims declared before any run (``ClaimSpec``) and the rows of ``claims.csv``;
* :mod:`.suites`: one module per experiment; :mod:`.registry`: the one list of experiments;
* :mod:`.sweep`: the resumable run over the registry (tables, manifest, ``claims.csv``);
* :mod:`.report`: ``REPORT.md`` and ``report.html`` from the tables, claims and figures.
"""

"""The validation experiments (issue 4), one module each; registered in
``experiments.reproduction.registry``."""

"""The staff directory (職員名簿, S9): city staff reached by e-mail and phone in a disaster.

Staff members are a separate population from residents. Only administrators put them here, by
CSV import (:func:`anshin.directory.services.directory_import`); they never pass through the
resident opt-in and no resident send ever reads this app's tables.
"""

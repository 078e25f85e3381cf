"""Staff call-outs (職員参集・安否確認): compose to staff selected by attributes, deliver by
e-mail and SMS through the delivery engine, collect one-tap replies on short links, remind
those who have not answered, and show and export the result.

Modules by concern: ``selection`` (which staff a call-out reaches), ``tokens`` (the short
reply links), ``services`` (the audited state changes), ``sending`` (mail and SMS rows through
claim → send → outcome, and their reconciler), ``selectors`` (the board), ``messages`` (the
mail and SMS text).
"""

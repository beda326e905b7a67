"""A subject's disclosure report: reckoned (``report``), rendered as JSON and English tables
(``render``), and the document for the customer (``letter``: what it says, ``words``: each
entry in words, ``document``: text and HTML, ``i18n``: the catalogues in ``locale/``)."""

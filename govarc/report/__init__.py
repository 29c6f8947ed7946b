"""The static HTML report (``govarc report``): the catalog's numbers as charts and tables in one
self-contained ``index.html`` (specs/report.md)."""

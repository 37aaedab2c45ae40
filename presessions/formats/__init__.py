"""
Date formats for the site's three languages (FORMAT_MODULE_PATH), in the style of UN documents.

Templates name a format rather than spell one ("DATE_FORMAT", not "j F Y"), so each language
writes its dates its own way: "14 December 2026", "14 décembre 2026", "14 de diciembre de 2026".
Besides Django's names, each language defines three of its own, so every module must define them:

- DAY_DATE_FORMAT: a date with its weekday ("Monday 14 December 2026");
- ABBR_DATE_FORMAT: a date with the month shortened, for tables ("14 Dec 2026");
- ABBR_DAY_MONTH_FORMAT: weekday and day shortened, without the year ("Mon 14 Dec").
"""

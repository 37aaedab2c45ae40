# Day before month, as in UN documents: "14 December 2026", not "Dec. 14, 2026".
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
DAY_DATE_FORMAT = "l j F Y"
ABBR_DATE_FORMAT = "j M Y"
ABBR_DAY_MONTH_FORMAT = "D j M"

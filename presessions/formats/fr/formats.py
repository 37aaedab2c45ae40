# "14 décembre 2026 à 17:00". Short months are "déc.", "juil.": Django's "M" would give "Jui" for both June and July.
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = r"j F Y \à H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
DAY_DATE_FORMAT = "l j F Y"
ABBR_DATE_FORMAT = "j N Y"
ABBR_DAY_MONTH_FORMAT = "D j N"

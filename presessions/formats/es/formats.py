# "14 de diciembre de 2026 a las 17:00"; a weekday is followed by a comma ("lunes, 14 de diciembre").
# Short months are lower case with a period ("dic."), as the RAE writes them.
DATE_FORMAT = r"j \d\e F \d\e Y"
DATETIME_FORMAT = r"j \d\e F \d\e Y \a \l\a\s H:i"
YEAR_MONTH_FORMAT = r"F \d\e Y"
MONTH_DAY_FORMAT = r"j \d\e F"
DAY_DATE_FORMAT = r"l, j \d\e F \d\e Y"
ABBR_DATE_FORMAT = r"j b\. Y"
ABBR_DAY_MONTH_FORMAT = r"D j b\."

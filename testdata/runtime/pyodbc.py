# import: pyodbc
# pyodbc links unixODBC's libodbc; libodbc loads the driver that
# /etc/odbcinst.ini names for "SQLite3" (libsqliteodbc's maintainer script
# writes that entry).
import pyodbc
con = pyodbc.connect("DRIVER={SQLite3};Database=:memory:")
cur = con.cursor()
cur.execute("create table t (n integer)")
cur.executemany("insert into t values (?)", [(1,), (2,), (39,)])
total = cur.execute("select sum(n) from t").fetchone()[0]
assert total == 42, total
print("ok odbc sqlite3", total)

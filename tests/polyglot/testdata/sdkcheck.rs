//! sdkcheck.rs: the Rust SDK's side of tests/polyglot's SDK test. Each
//! scan_tick runs the scenario numbered now_ms against the test's scripted
//! host and logs what it saw; sdkcheck.c does the same through the C SDK,
//! and the test expects the same lines from both.

use ffhost::{args, info, ConfigKey, Conn, Context, Descriptor, Error, Migration, Report, Result, Rows, Schema, Status, Value};

const DESCRIPTOR: Descriptor = Descriptor {
    name: "sdkcheck",
    version: "1.0 \"β\"",
    description: "tab\tquote\" back\\ ctl\u{1} del\u{7f} ls\u{2028} ps\u{2029} é 😀",
    default_interval_ms: 1234,
    reads: &["r1"],
    writes: &["w1", "w2"],
    config: &[
        ConfigKey { name: "mode", ty: "string", default: "strict", doc: "a string" },
        ConfigKey { name: "batch", ty: "int", default: "500", doc: "an int" },
    ],
};

const SCHEMA: Schema = Schema {
    owns: &["o1"],
    sqlite: &[
        Migration { id: 1, name: "create o1", sql: "CREATE TABLE o1 (x TEXT DEFAULT 'a\"b')" },
        Migration { id: 2, name: "index o1", sql: "CREATE INDEX o1_x ON o1 (x)" },
    ],
    postgres: &[Migration { id: 1, name: "create o1", sql: "CREATE TABLE o1 (x text)" }],
};

fn exec_args(db: &mut Conn) {
    let blob: &[u8] = &[0xff, 0x00];
    for r in [
        db.exec("INSERT INTO t VALUES (?, ?, ?, ?, ?)", args![42i64, 1.5, "ab", blob, Value::Null]),
        db.exec("DELETE FROM t", args![]),
    ] {
        match r {
            Ok(res) => info(&format!("exec {} {}", res.rows_affected, res.last_insert_id)),
            Err(e) => info(&format!("exec {}", e)),
        }
    }
}

fn len_or_null(v: Value<'_>) -> String {
    match v {
        Value::Text(b) | Value::Blob(b) => b.len().to_string(),
        _ => "NULL".to_string(),
    }
}

fn query_types(db: &mut Conn) -> Result<()> {
    let sql = "SELECT id, name, score, data FROM t";
    let rows: Rows = db.query(sql, args![])?;
    info(&format!("columns {} {}", rows.columns().len(), rows.columns().join(" ")));
    for row in rows {
        let row = row?;
        let id: i64 = row.get(0)?;
        let score = match row.get::<Option<f64>>(2)? {
            Some(f) => f.to_string(),
            None => "NULL".to_string(),
        };
        info(&format!(
            "row {} name={} score={} data={}",
            id,
            len_or_null(row.value(1)?),
            score,
            len_or_null(row.value(3)?)
        ));
        if id == 1 {
            if let Err(e) = row.get::<i64>(1) {
                info(&format!("int: {}", e));
            }
            info(&format!("double {}", row.get::<f64>(0)?));
        } else if let Err(e) = row.get_bytes(1) {
            info(&format!("text: {}", e));
        }
    }
    let n = db.query(sql, args![])?.count();
    info(&format!("again {}", n));
    Ok(())
}

fn with_tx(db: &mut Conn) {
    let mut attempts = 0;
    let r = db.with_tx(|db| {
        attempts += 1;
        db.exec("UPDATE t SET x = 1", args![]).context("update")?;
        Ok(())
    });
    match r {
        Ok(()) => info(&format!("tx ok attempts={}", attempts)),
        Err(e) => info(&format!("tx {} attempts={}", e, attempts)),
    }
}

fn tick(db: &mut Conn, now: i64, rep: &mut Report) -> Result<()> {
    match now {
        1 => exec_args(db),
        2 => {
            if let Err(e) = query_types(db) {
                info(&format!("query {}", e));
            }
        }
        3 => {
            if let Err(e) = db.exec("UPDATE t SET x = 1", args![]) {
                info(&format!("{} {}", e.status(), e));
            }
        }
        4..=8 => with_tx(db),
        9 => {
            rep.processed = 2;
            rep.errors = 1;
            return Err(Error::new(Status::Invalid, "bad")).context("step");
        }
        10 => {
            ffhost::debug("d");
            ffhost::info("i");
            ffhost::warn("w");
            ffhost::error("e");
        }
        11 => {
            if let Err(e) = db.query("SELECT x FROM t", args![]) {
                info(&format!("query {}", e));
            }
        }
        12 | 13 => {
            if let Err(e) = db.exec("UPDATE t SET x = 1", args![]) {
                info(&format!("exec {}", e));
            }
        }
        14 => {
            if let Err(e) = db.exec("UPDATE t SET x = 1", args![]) {
                info(&format!("{} {}", e.status(), e.message().len()));
            }
        }
        15 => {
            let mut attempts = 0;
            let r = ffhost::retry(|| {
                attempts += 1;
                db.query("SELECT 1", args![])
            });
            let status = r.err().map_or(Status::Ok, |e| e.status());
            info(&format!("retry {} attempts={}", status, attempts));
        }
        17 => match db.query_row("SELECT t FROM mid", args![]) {
            Ok(Some(row)) => info(&format!("mid {}", row.get_bytes(0)?.len())),
            Ok(None) => info("mid no row"),
            Err(e) => info(&format!("mid {}", e)),
        },
        18 => {
            match db.config("mode") {
                Ok(v) => info(&format!("mode {} {}", v.len(), &v[..3])),
                Err(e) => info(&format!("mode {}", e)),
            }
            match db.config_i64("batch") {
                Ok(b) => info(&format!("batch {}", b)),
                Err(e) => info(&format!("batch {}", e)),
            }
            if let Err(e) = db.config_bool("batch") {
                info(&format!("bool {}", e));
            }
            if let Err(e) = db.config("nope") {
                info(&format!("nope {}", e));
            }
        }
        _ => return Err(Error::new(Status::Invalid, "unknown scenario")),
    }
    Ok(())
}

ffhost::plugin!(DESCRIPTOR, SCHEMA, tick);

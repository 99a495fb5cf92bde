//! The CSV table reader on arbitrary bytes: the first byte picks the task and the field
//! separator, the rest is the file (its target column is `y`). The rows are then read again
//! as new data for a model trained on a fixed table, as `eval` and `predict` read them.
//! An error or a table, never a panic.
#![no_main]

use neurite::data::{CsvOptions, Table, Task};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&first, csv)) = data.split_first() else { return };
    let task = if first & 1 == 0 { Task::Classification } else { Task::Regression };
    let delimiter = [b',', b';', b'\t', b'|'][usize::from(first >> 1) & 3];
    let options = CsvOptions::new("y").task(task).delimiter(delimiter);
    if let Ok(table) = Table::from_reader(csv, "fuzz.csv", &options) {
        // The table's invariants: one row of features per example, standardised finite values.
        assert_eq!(table.values().len(), table.len() * table.features());
        assert!(table.values().iter().all(|v| v.is_finite()));
    }
    let trained = Table::from_reader(&b"a,b,y\n1,2,p\n3,5,q\n"[..], "trained.csv", &CsvOptions::new("y")).unwrap();
    let _ = Table::from_reader_with(csv, "fuzz.csv", trained.schema());
});

//! Fuzzes the media feed (`POST /v1/media` bodies, `--media` files): any bytes give files and
//! line-numbered errors, never a panic; a recorder taking the lines one by one holds the same
//! files and refuses the same lines; every file posted again is merged, never added twice or
//! taken as a conflict; the recorder survives a snapshot round trip.
#![no_main]

use callstitch_recording::{read_feed, MediaUpdate, Recorder, RecorderConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(feed) = read_feed(data) else {
        // Only text that is not UTF-8 stops the reader (a body is checked for it first).
        assert!(std::str::from_utf8(data).is_err(), "read_feed failed on UTF-8 text");
        return;
    };
    let text = std::str::from_utf8(data).expect("read_feed took it as text");
    let lines = text.lines().count() as u64;
    for error in &feed.errors {
        assert!((1..=lines).contains(&error.line()), "{error} is not a line of {lines}");
    }
    let mut ids = std::collections::HashSet::new();
    for file in &feed.files {
        assert!(ids.insert(file.media_id.as_str()), "media id {} twice", file.media_id);
        assert!(file.stop.is_none_or(|stop| stop >= file.start), "{file:?} stops before it starts");
    }

    let mut recorder = Recorder::new(RecorderConfig::default(), None);
    let mut refused = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if let Err(error) = recorder.add_feed_line(line, index as u64 + 1) {
            refused.push(error);
        }
    }
    assert_eq!(refused, feed.errors, "line by line as read whole");
    assert_eq!(recorder.files_in_memory(), feed.files.len());

    for file in &feed.files {
        let update = recorder.add_media(file.clone());
        assert!(matches!(update, MediaUpdate::Unchanged), "{file:?} posted again: {update:?}");
    }
    assert_eq!(recorder.files_in_memory(), feed.files.len());
    let snapshot = recorder.snapshot().expect("a recorder snapshots");
    let restored = Recorder::restore(&snapshot).expect("its snapshot restores");
    assert_eq!(restored.files_in_memory(), feed.files.len());
});

//! Fuzzes the service configuration (`callstitch serve --config`): any text is parsed to a
//! configuration or a config error, never a panic; a configuration read is validated and
//! turned into the follower's and the pipeline's settings without a panic.
#![no_main]

use callstitch_server::{follow_config, pipeline_config, ServiceConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = ServiceConfig::parse(text, "fuzz.toml") else { return };
    let _ = config.validate();
    let _ = follow_config(&config);
    let _ = pipeline_config(&config, true).build();
    let _ = pipeline_config(&config, false).build();
});

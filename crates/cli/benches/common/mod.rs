//! What the benches share: their numeric settings from the environment, and the machine's
//! NATS server with the streams a bench made under its own prefix, removed after.

/// A numeric setting from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// The NATS server the benches use (`CALLSTITCH_NATS_URL`, default what scripts/services starts).
pub fn nats_url() -> String {
    std::env::var("CALLSTITCH_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string())
}

/// Deletes every site stream and the collectors' checkpoints under `prefix`.
pub async fn remove_streams(url: &str, prefix: &str) {
    let options = callstitch_bus::BusOptions { prefix: prefix.to_string(), ..Default::default() };
    let Ok(bus) = callstitch_bus::Bus::connect(url, options).await else { return };
    if let Ok(sites) = bus.sites().await {
        for site in sites {
            let _ = bus.delete_site_stream(&site).await;
        }
    }
    let _ = bus.delete_checkpoints().await;
}

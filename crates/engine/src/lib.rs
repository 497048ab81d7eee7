//! callstitch-engine: events in, changes out. (Being built: issue 3.)

//! The scenario flows, by family: the connection-establishing models of seed 001
//! ([`basic`]), hold / transfer / conference on one site ([`transfer`]), and interactions
//! that cross sites ([`multi_site`]).

pub mod basic;
pub mod multi_site;
pub mod transfer;

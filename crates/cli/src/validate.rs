//! Values given on the command line, checked as strictly as the API checks them.

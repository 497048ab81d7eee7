//! The one table shape behind every coded T-Library enumeration.
//!
//! T-Library enumerations (messages, CallState, DN roles, CallType, ...) are numbers with
//! names. Logs print either, binary feeds only the number, and vendors add values we do not
//! know. `code_enum!` turns a table of `Variant = code, "Name"` rows into an enum with an
//! extra variant that keeps any other code (or, for messages, any other name), plus the
//! lookups both ways. It is a plain table, nothing more.

/// Declares a coded enum from a table of rows.
///
/// `unknown: Variant(Type)` names the variant that keeps values outside the table.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $code_ty:ty {
            $( $variant:ident = $code:literal, $text:literal; )*
        }
        unknown: $unknown:ident($unknown_ty:ty);
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( #[doc = $text] $variant, )*
            /// A value outside the documented table, kept as it came.
            $unknown($unknown_ty),
        }

        impl $name {
            /// Every documented value, in table order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The documented name, or `None` for a value outside the table.
            pub fn known_name(&self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some($text), )*
                    $name::$unknown(_) => None,
                }
            }

            /// The documented code, or `None` for a value outside the table.
            pub fn known_code(&self) -> Option<$code_ty> {
                match self {
                    $( $name::$variant => Some($code), )*
                    $name::$unknown(_) => None,
                }
            }

            /// The value with this documented name (exact spelling), if any.
            ///
            /// Runs once per event, so it goes through a [`crate::name_index::NameIndex`].
            pub fn from_known_name(name: &[u8]) -> Option<Self> {
                static INDEX: std::sync::OnceLock<crate::name_index::NameIndex<$name>> =
                    std::sync::OnceLock::new();
                let index = INDEX.get_or_init(|| {
                    crate::name_index::NameIndex::new([ $( ($text, $name::$variant), )* ])
                });
                index.get(name).cloned()
            }

            /// The value with this documented code, if any.
            pub fn from_known_code(code: $code_ty) -> Option<Self> {
                match code {
                    $( $code => Some($name::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

pub(crate) use code_enum;

//! One source for the words an enum is written as: [`labelled_enum!`](crate::labelled_enum)
//! declares a field-less enum with one label per variant, and derives from those labels
//! everything that names a value: its `label()` (or another name for that method), `ALL`,
//! `from_label()`, `Display`, and serde's `Serialize` / `Deserialize`.
//!
//! Before, each enum carried its serde renames and a hand-written `label()` match side by
//! side, kept in step only by a test; now a text report and the JSON cannot disagree.
//!
//! The serde forms are the ones `#[derive(Serialize, Deserialize)]` with the same renames
//! would give: a unit variant named by its label (a string in JSON), read back from its label
//! or its index; an unknown label is an error that lists the known ones.

#[doc(hidden)]
pub use serde as __serde;

/// Declares a field-less enum whose variants are named by labels, and derives from the labels
/// `label()`, `ALL` (every value, in declaration order), `from_label()`, `Display` and serde's
/// `Serialize` / `Deserialize` (see [the module](crate::labels)).
///
/// The enum keeps its docs and attributes (derive `Clone, Copy` at least: `label` takes
/// `self`); do not derive `Serialize` / `Deserialize` or give `serde` attributes. After the
/// enum, an optional `fn name;` (with its docs and visibility) renames the `label` method.
///
/// ```
/// callstitch_tlib::labelled_enum! {
///     /// Which way a call went.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Direction {
///         /// Into the contact center.
///         Inbound => "inbound",
///         Outbound => "out-bound",
///     }
/// }
///
/// assert_eq!(Direction::Outbound.label(), "out-bound");
/// assert_eq!(Direction::from_label("inbound"), Some(Direction::Inbound));
/// assert_eq!(Direction::ALL, [Direction::Inbound, Direction::Outbound]);
/// assert_eq!(serde_json::to_string(&Direction::Outbound).unwrap(), r#""out-bound""#);
/// assert!(serde_json::from_str::<Direction>(r#""sideways""#).is_err());
/// ```
#[macro_export]
macro_rules! labelled_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident => $label:literal ),+ $(,)?
        }
    ) => {
        $crate::labelled_enum! {
            $(#[$meta])*
            $vis enum $name {
                $( $(#[$variant_meta])* $variant => $label ),+
            }
            /// The name JSON and the text reports give it.
            pub fn label;
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident => $label:literal ),+ $(,)?
        }
        $(#[$label_meta:meta])*
        $label_vis:vis fn $label_fn:ident;
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($name::$variant),+].len()] = [$($name::$variant),+];

            /// Every label, in declaration order.
            const LABELS: &'static [&'static str] = &[$($label),+];

            $(#[$label_meta])*
            $label_vis fn $label_fn(self) -> &'static str {
                match self {
                    $( $name::$variant => $label, )+
                }
            }

            /// The value `label` names, if any.
            pub fn from_label(label: &str) -> Option<$name> {
                match label {
                    $( $label => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.$label_fn())
            }
        }

        impl $crate::labels::__serde::Serialize for $name {
            fn serialize<S>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error>
            where
                S: $crate::labels::__serde::Serializer,
            {
                // The variants have no explicit discriminants: the cast is the variant's index.
                serializer.serialize_unit_variant(stringify!($name), *self as u32, self.$label_fn())
            }
        }

        impl<'de> $crate::labels::__serde::Deserialize<'de> for $name {
            fn deserialize<D>(deserializer: D) -> ::core::result::Result<$name, D::Error>
            where
                D: $crate::labels::__serde::Deserializer<'de>,
            {
                deserializer.deserialize_enum(
                    stringify!($name),
                    $name::LABELS,
                    $crate::labels::EnumVisitor::new($name::LABELS, $name::from_label),
                )
            }
        }
    };
}

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, EnumAccess, VariantAccess, Visitor};
use serde::Deserializer;

/// Reads a unit variant of a [`labelled_enum!`](crate::labelled_enum) enum: by its label or
/// by its index, as a derived `Deserialize` would.
#[doc(hidden)]
pub struct EnumVisitor<T> {
    labels: &'static [&'static str],
    from_label: fn(&str) -> Option<T>,
}

impl<T> EnumVisitor<T> {
    pub fn new(labels: &'static [&'static str], from_label: fn(&str) -> Option<T>) -> Self {
        EnumVisitor { labels, from_label }
    }
}

impl<'de, T> Visitor<'de> for EnumVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", self.labels.join(", "))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<T, A::Error> {
        let (value, variant) = data.variant_seed(VariantSeed { visitor: self, _value: PhantomData })?;
        variant.unit_variant()?;
        Ok(value)
    }
}

/// Reads the variant's name (its label or index) inside [`EnumVisitor::visit_enum`].
struct VariantSeed<T> {
    visitor: EnumVisitor<T>,
    _value: PhantomData<T>,
}

impl<'de, T> de::DeserializeSeed<'de> for VariantSeed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de, T> Visitor<'de> for VariantSeed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_u64<E: de::Error>(self, index: u64) -> Result<T, E> {
        let label = usize::try_from(index).ok().and_then(|index| self.visitor.labels.get(index));
        match label.and_then(|label| (self.visitor.from_label)(label)) {
            Some(value) => Ok(value),
            None => Err(E::invalid_value(de::Unexpected::Unsigned(index), &self)),
        }
    }

    fn visit_str<E: de::Error>(self, label: &str) -> Result<T, E> {
        (self.visitor.from_label)(label).ok_or_else(|| E::unknown_variant(label, self.visitor.labels))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<T, E> {
        match std::str::from_utf8(bytes) {
            Ok(label) => self.visit_str(label),
            Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(bytes), &self)),
        }
    }
}

#[cfg(test)]
mod tests {
    crate::labelled_enum! {
        /// A test enum: labels in several shapes, one of them not the variant's name at all.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        enum Shape {
            /// The first.
            #[default]
            Round => "round",
            DottedName => "dotted.name",
            Itself => "self",
            Upper => "P10",
        }
    }

    crate::labelled_enum! {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Renamed {
            One => "one",
            Two => "two",
        }
        /// The other name of `label`.
        fn slug;
    }

    #[test]
    fn every_value_round_trips_through_json_as_its_label() {
        for shape in Shape::ALL {
            let json = serde_json::to_string(&shape).unwrap();
            assert_eq!(json, format!("\"{}\"", shape.label()));
            assert_eq!(serde_json::from_str::<Shape>(&json).unwrap(), shape);
            assert_eq!(Shape::from_label(shape.label()), Some(shape));
            assert_eq!(shape.to_string(), shape.label());
        }
        assert_eq!(Shape::ALL.len(), 4);
        assert_eq!(Shape::Itself.label(), "self");
        assert_eq!(Shape::default(), Shape::Round);
        assert!(Shape::Round < Shape::Upper, "declaration order is kept");
    }

    #[test]
    fn an_unknown_label_is_refused_naming_the_known_ones() {
        assert_eq!(Shape::from_label("Round"), None);
        let error = serde_json::from_str::<Shape>("\"Itself\"").unwrap_err().to_string();
        assert!(error.contains("unknown variant `Itself`"), "{error}");
        assert!(error.contains("`round`, `dotted.name`, `self`, `P10`"), "{error}");
        assert!(serde_json::from_str::<Shape>("3").is_err());
        assert!(serde_json::from_str::<Shape>("null").is_err());
    }

    #[test]
    fn a_renamed_label_method_is_the_one_source() {
        assert_eq!(Renamed::Two.slug(), "two");
        assert_eq!(Renamed::Two.to_string(), "two");
        assert_eq!(serde_json::to_value(Renamed::One).unwrap(), serde_json::json!("one"));
        assert_eq!(Renamed::from_label("two"), Some(Renamed::Two));
        assert_eq!(Renamed::ALL.map(Renamed::slug), ["one", "two"]);
    }

    #[test]
    fn it_reads_and_writes_like_a_derived_enum() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Derived {
            Round,
            #[serde(rename = "dotted.name")]
            DottedName,
        }
        for (ours, theirs) in [(Shape::Round, Derived::Round), (Shape::DottedName, Derived::DottedName)] {
            assert_eq!(serde_json::to_value(ours).unwrap(), serde_json::to_value(&theirs).unwrap());
        }
        let map = serde_json::json!({"round": null});
        let (ours, theirs) =
            (serde_json::from_value::<Shape>(map.clone()), serde_json::from_value::<Derived>(map));
        assert_eq!(ours.is_ok(), theirs.is_ok());
        let value = serde::de::value::U32Deserializer::<serde::de::value::Error>::new(1);
        assert_eq!(serde::Deserialize::deserialize(value), Ok(Shape::DottedName));
    }
}

//! One value's change, over the checked form: its [`Shape`] (the Rust type, then the
//! constraints of that type: bounds, lengths, item counts, `multipleOf`, an enum's
//! values and variants), its `default`, `uniqueItems` and `pattern`.

use std::fmt;

use serde_json::Value;

use super::{Bump, Changes, shown};
use crate::{Bounds, Checked, EnumDef, ObjectDef, Property, Shape, VariantValue, is_multiple_of};

/// Compares values of two checked versions of one schema.
pub(super) struct ShapeDiff<'c, 'f> {
    pub(super) old: &'c Checked,
    pub(super) new: &'c Checked,
    pub(super) changes: &'c mut Changes<'f>,
}

impl ShapeDiff<'_, '_> {
    /// Whether `old` (a shape of `old_checked`) and `new` (of `new_checked`) are the same,
    /// their enums compared by values and variant names.
    pub(super) fn same(
        old_checked: &Checked,
        old: &Shape,
        new_checked: &Checked,
        new: &Shape,
    ) -> bool {
        match (old, new) {
            (Shape::Enum(old), Shape::Enum(new)) => {
                members(&old_checked.enums[*old]) == members(&new_checked.enums[*new])
            }
            (
                Shape::Array {
                    items: old_items,
                    min_items,
                    max_items,
                },
                Shape::Array {
                    items: new_items,
                    min_items: new_min,
                    max_items: new_max,
                },
            ) => {
                min_items == new_min
                    && max_items == new_max
                    && Self::same(old_checked, old_items, new_checked, new_items)
            }
            (Shape::Object(old), Shape::Object(new)) => same_object(
                old_checked,
                &old_checked.objects[*old],
                new_checked,
                &new_checked.objects[*new],
            ),
            (old, new) => old == new,
        }
    }

    /// The type, then its constraints; `false` when the type changed (a major change,
    /// and nothing more to compare).
    pub(super) fn shape(&mut self, pointer: &str, old: &Shape, new: &Shape, items: bool) -> bool {
        // A new kind of shape must get its arm below (else two equal ones would fall into
        // "type changed"): this match stops compiling until it is listed.
        match old {
            Shape::String { .. }
            | Shape::Id(_)
            | Shape::Enum(_)
            | Shape::Integer(_)
            | Shape::Number(_)
            | Shape::Boolean
            | Shape::Array { .. }
            | Shape::Object(_)
            | Shape::Typify => {}
        }
        match (old, new) {
            (
                Shape::String {
                    min_length,
                    max_length,
                },
                Shape::String {
                    min_length: new_min,
                    max_length: new_max,
                },
            ) => {
                self.counts(
                    pointer,
                    "length",
                    ("minLength", *min_length, *new_min),
                    ("maxLength", *max_length, *new_max),
                );
                true
            }
            (Shape::Id(old_id), Shape::Id(new_id)) if old_id == new_id => true,
            (Shape::Enum(old_index), Shape::Enum(new_index))
                if value_kind(&self.old.enums[*old_index])
                    == value_kind(&self.new.enums[*new_index]) =>
            {
                let (old_enum, new_enum) =
                    (&self.old.enums[*old_index], &self.new.enums[*new_index]);
                self.enum_values(pointer, old_enum, new_enum);
                true
            }
            (Shape::Integer(old_bounds), Shape::Integer(new_bounds))
            | (Shape::Number(old_bounds), Shape::Number(new_bounds)) => {
                self.bounds(pointer, old_bounds, new_bounds);
                true
            }
            (Shape::Boolean, Shape::Boolean) | (Shape::Typify, Shape::Typify) => true,
            // The fields are compared as parameters are, by the model's diff.
            (Shape::Object(_), Shape::Object(_)) => true,
            (
                Shape::Array {
                    items: old_items,
                    min_items,
                    max_items,
                },
                Shape::Array {
                    items: new_items,
                    min_items: new_min,
                    max_items: new_max,
                },
            ) => {
                self.counts(
                    pointer,
                    "item count",
                    ("minItems", *min_items, *new_min),
                    ("maxItems", *max_items, *new_max),
                );
                self.shape(&format!("{pointer}/items"), old_items, new_items, true);
                true
            }
            _ => {
                let label = if items { "item type" } else { "type" };
                self.changes.push(
                    Bump::Major,
                    pointer,
                    format!(
                        "{label} changed: {} → {}",
                        type_label(self.old, old),
                        type_label(self.new, new)
                    ),
                );
                false
            }
        }
    }

    /// Length or item count limits: `(keyword, old, new)` of each side.
    fn counts(
        &mut self,
        pointer: &str,
        label: &str,
        lower: (&'static str, Option<u64>, Option<u64>),
        upper: (&'static str, Option<u64>, Option<u64>),
    ) {
        let limit = |keyword, count: Option<u64>| {
            Limit::of(keyword, count.map(|count| count as f64), false)
        };
        for ((keyword, old, new), side) in [(lower, Side::Lower), (upper, Side::Upper)] {
            self.limit(
                pointer,
                label,
                side,
                limit(keyword, old),
                limit(keyword, new),
            );
        }
    }

    /// A number's range and `multipleOf`.
    fn bounds(&mut self, pointer: &str, old: &Bounds, new: &Bounds) {
        let Bounds {
            minimum: _,
            maximum: _,
            exclusive_minimum: _,
            exclusive_maximum: _,
            multiple_of,
        } = old;
        self.limit(
            pointer,
            "range",
            Side::Lower,
            effective(old, Side::Lower),
            effective(new, Side::Lower),
        );
        self.limit(
            pointer,
            "range",
            Side::Upper,
            effective(old, Side::Upper),
            effective(new, Side::Upper),
        );
        match (*multiple_of, new.multiple_of) {
            (None, None) => {}
            (Some(old_step), Some(new_step)) if old_step == new_step => {}
            (None, Some(step)) => self.changes.push(
                Bump::Major,
                pointer,
                format!("multipleOf {step} added (requests that were valid now fail)"),
            ),
            (Some(step), None) => {
                self.changes
                    .push(Bump::Minor, pointer, format!("multipleOf {step} removed"));
            }
            (Some(old_step), Some(new_step)) => {
                if is_multiple_of(old_step, new_step) {
                    self.changes.push(
                        Bump::Minor,
                        pointer,
                        format!("multipleOf widened: {old_step} → {new_step} (every old value still fits)"),
                    );
                } else {
                    self.changes.push(
                        Bump::Major,
                        pointer,
                        format!("multipleOf changed: {old_step} → {new_step} (requests that were valid now fail)"),
                    );
                }
            }
        }
    }

    /// One side of a range, length or item count: compares the effective limits.
    fn limit(
        &mut self,
        pointer: &str,
        label: &str,
        side: Side,
        old: Option<Limit>,
        new: Option<Limit>,
    ) {
        let narrowed = "(requests that were valid now fail)";
        let (bump, what) = match (old, new) {
            (None, None) => return,
            (None, Some(new)) => (
                Bump::Major,
                format!("{label} narrowed: {new} added {narrowed}"),
            ),
            (Some(old), None) => (Bump::Minor, format!("{label} widened: {old} removed")),
            (Some(old), Some(new)) if new.is_tighter_than(&old, side) => (
                Bump::Major,
                format!("{label} narrowed: {} {narrowed}", old.to(&new)),
            ),
            (Some(old), Some(new)) if old.is_tighter_than(&new, side) => {
                (Bump::Minor, format!("{label} widened: {}", old.to(&new)))
            }
            (Some(old), Some(new)) if old == new => return,
            (Some(old), Some(new)) => (
                Bump::Patch,
                format!("{label} rewritten: {}, the same limit", old.to(&new)),
            ),
        };
        self.changes.push(bump, pointer, what);
    }

    /// An enum's values added and removed, its Rust variants renamed, its order.
    fn enum_values(&mut self, pointer: &str, old: &EnumDef, new: &EnumDef) {
        let before = self.changes.list.len();
        let find = |definition: &EnumDef, value: &VariantValue| {
            definition
                .variants
                .iter()
                .find(|variant| variant.value == *value)
                .map(|variant| variant.rust_name.clone())
        };
        // The members of `from` whose value `to` does not have.
        let missing = |from: &'_ EnumDef, to: &EnumDef| -> Vec<(String, String)> {
            from.variants
                .iter()
                .filter(|variant| find(to, &variant.value).is_none())
                .map(|variant| (variant.value.text(), variant.rust_name.clone()))
                .collect()
        };
        for (value, name) in missing(old, new) {
            let what = format!("enum value removed: {value} (the variant `{name}` is gone)");
            self.changes.push(Bump::Major, pointer, what);
        }
        for (value, name) in missing(new, old) {
            let what = format!("enum value added: {value} (a new variant `{name}`)");
            self.changes.push(Bump::Minor, pointer, what);
        }
        for variant in &old.variants {
            if let Some(new_name) = find(new, &variant.value)
                && new_name != variant.rust_name
            {
                self.changes.push(
                    Bump::Major,
                    pointer,
                    format!(
                        "Rust variant of {} renamed (x-enum-names): `{}` → `{new_name}`",
                        variant.value.text(),
                        variant.rust_name
                    ),
                );
            }
        }
        if self.changes.list.len() == before && members(old) != members(new) {
            self.changes.push(
                Bump::Patch,
                pointer,
                "enum values reordered: `ALL` and `VALUES` follow the new order",
            );
        }
    }

    /// `default`: what the API assumes for a request that leaves the field out.
    pub(super) fn default(
        &mut self,
        pointer: &str,
        shape: &Shape,
        old: Option<&Value>,
        new: Option<&Value>,
    ) {
        if same_json(old, new) {
            return;
        }
        let (bump, what) = match (old, new) {
            (None, Some(new)) => (Bump::Minor, format!("default added: {new}")),
            (Some(old), None) if matches!(shape, Shape::Enum(_)) => (
                Bump::Major,
                format!("default removed: {old} (the enum's `impl Default` goes away)"),
            ),
            (Some(old), None) => (
                Bump::Minor,
                format!(
                    "default removed: {old} (requests that leave it out may behave differently)"
                ),
            ),
            (old, new) => (
                Bump::Minor,
                format!(
                    "default changed: {} → {} (requests that leave it out behave differently)",
                    shown(old),
                    shown(new)
                ),
            ),
        };
        self.changes.push(bump, pointer, what);
    }

    /// `uniqueItems: true`.
    pub(super) fn unique_items(&mut self, pointer: &str, old: bool, new: bool) {
        match (old, new) {
            (false, true) => self.changes.push(
                Bump::Major,
                pointer,
                "uniqueItems added (requests that were valid now fail)",
            ),
            (true, false) => self
                .changes
                .push(Bump::Minor, pointer, "uniqueItems removed"),
            _ => {}
        }
    }

    /// `pattern`: whether one regex admits every value of another cannot be told, so any
    /// change but a removal is taken as narrower.
    pub(super) fn pattern(&mut self, pointer: &str, old: Option<&str>, new: Option<&str>) {
        match (old, new) {
            (old, new) if old == new => {}
            (None, Some(new)) => self.changes.push(
                Bump::Major,
                pointer,
                format!("pattern `{new}` added (requests that were valid may now fail)"),
            ),
            (Some(old), None) => self.changes.push(Bump::Minor, pointer, format!("pattern `{old}` removed")),
            (old, new) => self.changes.push(
                Bump::Major,
                pointer,
                format!(
                    "pattern changed: `{}` → `{}` (requests that were valid may now fail: check that the new one admits every old value)",
                    old.unwrap_or_default(),
                    new.unwrap_or_default()
                ),
            ),
        }
    }
}

/// Whether two item objects are the same: their openness and every field, fact by fact
/// (their shapes by [`ShapeDiff::same`]); descriptions aside, and their Rust names, which
/// follow the parameter's (a renamed parameter renames its item type).
fn same_object(
    old_checked: &Checked,
    old: &ObjectDef,
    new_checked: &Checked,
    new: &ObjectDef,
) -> bool {
    let ObjectDef {
        // Named after the parameter.
        rust_name: _,
        field: _,
        // Documentation, not the type.
        description: _,
        pointer: _,
        fields,
        open,
    } = old;
    *open == new.open
        && fields.len() == new.fields.len()
        && fields
            .iter()
            .zip(&new.fields)
            .all(|(old_field, new_field)| {
                same_field(old_checked, old_field, new_checked, new_field)
            })
}

/// Whether two fields of item objects are the same, fact by fact (every fact of the
/// checked form is named, so a new one needs a rule here to compile).
fn same_field(
    old_checked: &Checked,
    old: &Property,
    new_checked: &Checked,
    new: &Property,
) -> bool {
    let Property {
        json_name,
        // Derived from the name.
        flag: _,
        required,
        shape,
        // Documentation.
        description: _,
        default,
        ignored_when_present,
        asset,
        model_types,
        ui,
        unique_items,
        pattern,
    } = old;
    ShapeDiff::same(old_checked, shape, new_checked, &new.shape)
        && *json_name == new.json_name
        && *required == new.required
        && *default == new.default
        && *ignored_when_present == new.ignored_when_present
        && *asset == new.asset
        && *model_types == new.model_types
        && *ui == new.ui
        && *unique_items == new.unique_items
        && *pattern == new.pattern
}

/// Two JSON values with the same meaning (`1` and `1.0` are one number).
fn same_json(old: Option<&Value>, new: Option<&Value>) -> bool {
    match (old, new) {
        (Some(Value::Number(old)), Some(Value::Number(new))) => old.as_f64() == new.as_f64(),
        (old, new) => old == new,
    }
}

/// An enum's members: each value with its Rust name, in order.
fn members(definition: &EnumDef) -> Vec<(&VariantValue, &str)> {
    definition
        .variants
        .iter()
        .map(|variant| (&variant.value, variant.rust_name.as_str()))
        .collect()
}

/// What an enum's values are on the wire: `strings`, `integers` or `numbers`.
fn value_kind(definition: &EnumDef) -> &'static str {
    match definition.variants.first().map(|variant| &variant.value) {
        Some(VariantValue::String(_)) | None => "strings",
        Some(VariantValue::Integer(_)) => "integers",
        Some(VariantValue::Number(_)) => "numbers",
    }
}

/// The Rust type of `shape` in a message: `` `String` ``, `` `P` (an enum of strings) ``.
fn type_label(checked: &Checked, shape: &Shape) -> String {
    let rust = checked.rust_type(shape);
    match shape {
        Shape::Enum(index) => format!(
            "`{rust}` (an enum of {})",
            value_kind(&checked.enums[*index])
        ),
        _ => format!("`{rust}`"),
    }
}

/// Which end of a range a limit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Lower,
    Upper,
}

/// The effective limit of one side of a range, and the keyword that sets it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Limit {
    keyword: &'static str,
    number: f64,
    exclusive: bool,
}

impl Limit {
    /// The limit `keyword` sets, when it is written.
    fn of(keyword: &'static str, number: Option<f64>, exclusive: bool) -> Option<Self> {
        number.map(|number| Self {
            keyword,
            number,
            exclusive,
        })
    }

    /// Whether this limit admits fewer values than `other` on the same side.
    fn is_tighter_than(&self, other: &Self, side: Side) -> bool {
        let same_number = self.number == other.number;
        let beyond = match side {
            Side::Lower => self.number > other.number,
            Side::Upper => self.number < other.number,
        };
        beyond || (same_number && self.exclusive && !other.exclusive)
    }

    /// `maximum 1 → 2`, or `minimum 0 → exclusiveMinimum 0` when the keyword changes.
    fn to(&self, new: &Self) -> String {
        if self.keyword == new.keyword {
            format!("{self} → {}", new.number)
        } else {
            format!("{self} → {new}")
        }
    }

    /// The tightest of `limits` on `side`.
    fn tightest(side: Side, limits: [Option<Self>; 2]) -> Option<Self> {
        limits.into_iter().flatten().reduce(|tightest, candidate| {
            if candidate.is_tighter_than(&tightest, side) {
                candidate
            } else {
                tightest
            }
        })
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.keyword, self.number)
    }
}

/// The effective limit of `bounds` on `side`: the tighter of its two keywords.
fn effective(bounds: &Bounds, side: Side) -> Option<Limit> {
    let ((inclusive, at_least), (exclusive, beyond)) = match side {
        Side::Lower => (
            ("minimum", bounds.minimum),
            ("exclusiveMinimum", bounds.exclusive_minimum),
        ),
        Side::Upper => (
            ("maximum", bounds.maximum),
            ("exclusiveMaximum", bounds.exclusive_maximum),
        ),
    };
    Limit::tightest(
        side,
        [
            Limit::of(inclusive, at_least, false),
            Limit::of(exclusive, beyond, true),
        ],
    )
}

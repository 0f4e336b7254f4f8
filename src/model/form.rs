//! The fields of a node's settings form, described by each kind and drawn by the designer: the
//! kind says what each setting is (a duration, a SQL condition, a column of the input, a choice)
//! and the designer knows how to edit each sort of value. Nothing here draws.

use super::duration::Duration;

/// One setting.
pub struct Field<'a> {
    pub label: &'static str,
    /// What the setting does, for the tooltip.
    pub help: &'static str,
    pub value: FieldValue<'a>,
}

impl<'a> Field<'a> {
    pub fn new(label: &'static str, help: &'static str, value: FieldValue<'a>) -> Self {
        Self { label, help, value }
    }
}

/// What SQL a field holds, so the designer checks it the way the model will.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlRole {
    /// A condition, true or false per row.
    Predicate,
    /// `expression AS name`.
    Projection,
    /// `count(*) AS n`.
    Aggregate,
    /// One value per row, e.g. a partition key.
    Expression,
    /// A pattern's step condition or measure: it reads the rows of the match (`A.price`,
    /// `LAST(B.price, 1)`), so the node checks it against its steps.
    Pattern,
}

/// The sorts of values a setting can hold.
pub enum FieldValue<'a> {
    Text(&'a mut String),
    /// Text that may be absent (an endpoint): empty means none.
    OptionalText(&'a mut Option<String>),
    /// A file path, relative to the pipeline file.
    Path(&'a mut String),
    Char(&'a mut char),
    Bool(&'a mut bool),
    Count(&'a mut u32),
    BigCount(&'a mut u64),
    OptionalCount(&'a mut Option<u64>),
    OptionalSmallCount(&'a mut Option<u32>),
    /// A number within a range, e.g. a share between 0 and 1.
    Number(&'a mut f64, f64, f64),
    Duration(&'a mut Duration),
    OptionalDuration(&'a mut Option<Duration>),
    Sql(&'a mut String, SqlRole),
    /// SQL that may be absent (an explicit hash key).
    OptionalSql(&'a mut Option<String>, SqlRole),
    SqlList(&'a mut Vec<String>, SqlRole),
    /// One column of the input.
    Column(&'a mut String),
    OptionalColumn(&'a mut Option<String>),
    /// Several columns of the input (keys).
    Columns(&'a mut Vec<String>),
    /// One of several options, each maybe with fields of its own.
    Choice(&'a mut dyn Choice),
    /// A list of items, each a few fields (routes, declared columns).
    List(&'a mut dyn ListField),
}

/// A setting that is one of several options.
pub trait Choice {
    /// The options' labels, in order.
    fn options(&self) -> Vec<&'static str>;
    fn selected(&self) -> usize;
    /// Switches to option `index` (with that option's starting values).
    fn select(&mut self, index: usize);
    /// The fields of the selected option, e.g. the count of `Events(n)`.
    fn fields(&mut self) -> Vec<Field<'_>> {
        Vec::new()
    }
}

/// A setting that is a list of items.
pub trait ListField {
    /// What one item is called, for the add button: "route", "column".
    fn item_name(&self) -> &'static str;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn item(&mut self, index: usize) -> Vec<Field<'_>>;
    fn add(&mut self);
    fn remove(&mut self, index: usize);
}

/// Implements [`Choice`] for an enum of plain variants, labelled by their names in the file.
#[macro_export]
macro_rules! plain_choice {
    ($type:ty { $($variant:ident),+ $(,)? }) => {
        impl $crate::model::form::Choice for $type {
            fn options(&self) -> Vec<&'static str> {
                vec![$(stringify!($variant)),+]
            }
            fn selected(&self) -> usize {
                [$(<$type>::$variant),+].iter().position(|v| v == self).unwrap_or(0)
            }
            fn select(&mut self, index: usize) {
                if let Some(v) = [$(<$type>::$variant),+].get(index) {
                    *self = *v;
                }
            }
        }
    };
}

/// Every field of a form, nested ones included, as `label` paths: what a test compares with the
/// configuration's fields to prove each one can be edited.
pub fn field_labels(fields: &mut [Field<'_>]) -> Vec<String> {
    let mut labels = Vec::new();
    for field in fields.iter_mut() {
        labels.push(field.label.to_string());
        match &mut field.value {
            FieldValue::Choice(choice) => {
                for nested in field_labels(&mut choice.fields()) {
                    labels.push(format!("{} / {nested}", field.label));
                }
            }
            FieldValue::List(list) if !list.is_empty() => {
                for nested in field_labels(&mut list.item(0)) {
                    labels.push(format!("{} / {nested}", field.label));
                }
            }
            _ => {}
        }
    }
    labels
}

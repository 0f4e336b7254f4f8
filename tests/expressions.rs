//! SQL expressions planned against real schemas and evaluated on real Arrow batches.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use eddy::expr::{
    AggregateFunction, ProjectionItem, TextPosition, plan_aggregate, plan_expr, plan_predicate,
};

fn trips() -> (Arc<Schema>, RecordBatch) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("passengers", DataType::Int64, false),
        Field::new("distance", DataType::Float64, true),
        Field::new("zone", DataType::Utf8, false),
        Field::new("VendorID", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1, 3, 2, 5])),
            Arc::new(Float64Array::from(vec![
                Some(0.5),
                Some(7.25),
                None,
                Some(3.0),
            ])),
            Arc::new(StringArray::from(vec!["JFK", "Midtown", "JFK", "Harlem"])),
            Arc::new(Int64Array::from(vec![1, 2, 1, 2])),
        ],
    )
    .unwrap();
    (schema, batch)
}

#[test]
fn integer_column_compared_with_a_decimal_is_coerced() {
    let (schema, batch) = trips();
    let planned = plan_predicate("passengers > 2.5", &schema).unwrap();
    let result = planned.evaluate(&batch).unwrap();
    let result = result.as_any().downcast_ref::<BooleanArray>().unwrap();
    assert_eq!(result, &BooleanArray::from(vec![false, true, false, true]));
}

#[test]
fn arithmetic_functions_and_nulls_evaluate_per_row() {
    let (schema, batch) = trips();
    let item =
        ProjectionItem::plan("round(distance / passengers, 2) AS per_head", &schema).unwrap();
    assert_eq!(item.name, "per_head");
    assert_eq!(item.expr.data_type, DataType::Float64);
    let values = item.expr.evaluate(&batch).unwrap();
    let values = values.as_any().downcast_ref::<Float64Array>().unwrap();
    assert_eq!(values.value(0), 0.5);
    assert_eq!(values.value(1), 2.42);
    assert!(values.is_null(2));
    assert_eq!(values.value(3), 0.6);
}

#[test]
fn string_predicates_case_and_in_lists_work() {
    let (schema, batch) = trips();
    let planned = plan_expr(
        "CASE WHEN zone IN ('JFK', 'LGA') THEN 'airport' ELSE lower(zone) END",
        &schema,
    )
    .unwrap();
    let values = planned.evaluate(&batch).unwrap();
    let values = values.as_any().downcast_ref::<StringArray>().unwrap();
    let got: Vec<&str> = (0..values.len()).map(|i| values.value(i)).collect();
    assert_eq!(got, ["airport", "midtown", "airport", "harlem"]);
}

#[test]
fn column_names_are_case_sensitive_as_written() {
    let (schema, batch) = trips();
    let planned = plan_expr("VendorID * 10", &schema).unwrap();
    let values = planned.evaluate(&batch).unwrap();
    let values = values.as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(values.values(), &[10, 20, 10, 20]);
    let err = plan_expr("vendorid * 10", &schema).unwrap_err();
    assert!(err.message.contains("unknown column `vendorid`"), "{err}");
    assert!(err.message.contains("did you mean `VendorID`?"), "{err}");
}

#[test]
fn unknown_column_lists_the_columns_and_points_at_it() {
    let (schema, _) = trips();
    let err = plan_expr("distance > 1 AND fare > 10", &schema).unwrap_err();
    assert!(err.message.contains("unknown column `fare`"), "{err}");
    assert!(
        err.message.contains("passengers, distance, zone, VendorID"),
        "{err}"
    );
    assert_eq!(
        err.position,
        Some(TextPosition {
            line: 1,
            column: 18
        })
    );
}

#[test]
fn type_mismatch_names_both_types_and_the_place() {
    let (schema, _) = trips();
    let err = plan_expr("passengers + 1 > 0 AND distance - zone > 1", &schema).unwrap_err();
    assert!(
        err.message.contains("Float64") && err.message.contains("Utf8"),
        "{err}"
    );
    assert_eq!(
        err.position,
        Some(TextPosition {
            line: 1,
            column: 24
        })
    );
}

#[test]
fn literal_that_cannot_be_cast_is_a_planning_error() {
    let (schema, _) = trips();
    let err = plan_predicate("passengers > 'many'", &schema).unwrap_err();
    assert!(err.message.contains("many"), "{err}");
}

#[test]
fn syntax_errors_have_positions_and_trailing_text_is_refused() {
    let (schema, _) = trips();
    let err = plan_expr("distance >", &schema).unwrap_err();
    assert!(err.message.contains("expected an expression"), "{err}");
    assert_eq!(err.position.map(|p| p.column), Some(11));
    let err = plan_expr("distance > 1 zone", &schema).unwrap_err();
    assert!(err.message.contains("unexpected `zone`"), "{err}");
    assert_eq!(
        err.position,
        Some(TextPosition {
            line: 1,
            column: 14
        })
    );
    assert!(plan_expr("   ", &schema).is_err());
}

#[test]
fn unknown_functions_suggest_a_near_name() {
    let (schema, _) = trips();
    let err = plan_expr("rond(distance)", &schema).unwrap_err();
    assert!(err.message.contains("Invalid function 'rond'"), "{err}");
    assert!(err.message.contains("Did you mean"), "{err}");
    let again = plan_expr("rond(distance)", &schema).unwrap_err();
    assert_eq!(err, again, "suggestions must be deterministic");
}

#[test]
fn a_predicate_must_be_boolean() {
    let (schema, _) = trips();
    let err = plan_predicate("distance * 2", &schema).unwrap_err();
    assert!(err.message.contains("true or false"), "{err}");
    assert!(err.message.contains("DOUBLE"), "{err}");
}

#[test]
fn expressions_cannot_read_tables() {
    let (schema, _) = trips();
    assert!(plan_expr("(SELECT 1)", &schema).is_err());
}

#[test]
fn aggregates_are_typed_and_named() {
    let (schema, _) = trips();
    let count = plan_aggregate("count(*)", &schema).unwrap();
    assert_eq!(
        (count.function, count.name.as_str()),
        (AggregateFunction::Count, "count")
    );
    assert!(count.argument.is_none());
    let sum = plan_aggregate("sum(passengers) AS riders", &schema).unwrap();
    assert_eq!(
        (sum.output_type, sum.name.as_str()),
        (DataType::Int64, "riders")
    );
    let avg = plan_aggregate("AVG(distance)", &schema).unwrap();
    assert_eq!(
        (avg.output_type, avg.name.as_str()),
        (DataType::Float64, "avg_distance")
    );
    let distinct = plan_aggregate("count(DISTINCT zone) AS zones", &schema).unwrap();
    assert_eq!(distinct.function, AggregateFunction::CountDistinct);
    let max = plan_aggregate("max(zone) AS last_zone", &schema).unwrap();
    assert_eq!(max.output_type, DataType::Utf8);
    let computed = plan_aggregate("sum(distance * passengers) AS person_km", &schema).unwrap();
    assert_eq!(computed.output_type, DataType::Float64);
}

#[test]
fn aggregate_mistakes_are_explained() {
    let (schema, _) = trips();
    let err = plan_aggregate("sum(zone) AS z", &schema).unwrap_err();
    assert!(
        err.message.contains("sum needs numbers") && err.message.contains("STRING"),
        "{err}"
    );
    let err = plan_aggregate("median(distance) AS m", &schema).unwrap_err();
    assert!(err.message.contains("not an aggregate"), "{err}");
    let err = plan_aggregate("distance + 1 AS d", &schema).unwrap_err();
    assert!(err.message.contains("an aggregate is a call"), "{err}");
    let err = plan_aggregate("sum(distance * 2)", &schema).unwrap_err();
    assert!(err.message.contains("give this aggregate a name"), "{err}");
    let err = plan_aggregate("sum(fare) AS f", &schema).unwrap_err();
    assert!(err.message.contains("unknown column `fare`"), "{err}");
    assert_eq!(err.position, Some(TextPosition { line: 1, column: 5 }));
}

#[test]
fn projection_needs_a_name_unless_it_is_a_column() {
    let (schema, _) = trips();
    assert_eq!(ProjectionItem::plan("zone", &schema).unwrap().name, "zone");
    let err = ProjectionItem::plan("distance * 2", &schema).unwrap_err();
    assert!(err.message.contains("AS name"), "{err}");
}

/// A generated allow-list as long as real ones get: planning and evaluating it must not run out
/// of stack on a thread with the default (2 MiB) stack, as operator threads have.
#[test]
fn a_hundred_thousand_term_or_plans_and_evaluates_on_a_small_stack() {
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let (schema, batch) = trips();
            let mut terms: Vec<String> = (0..100_000).map(|i| format!("zone = 'z{i}'")).collect();
            terms.push("zone = 'Harlem'".into());
            let planned = plan_predicate(&terms.join(" OR "), &schema).unwrap();
            let mask = planned.evaluate(&batch).unwrap();
            let mask = mask.as_any().downcast_ref::<BooleanArray>().unwrap();
            (0..mask.len()).map(|i| mask.value(i)).collect::<Vec<_>>()
        })
        .unwrap();
    assert_eq!(worker.join().unwrap(), vec![false, false, false, true]);
}

/// Expressions generated deep and wide, from a fixed seed: each plans (or is refused with a
/// message), never overflows, and where it plans its result equals the rule it was built from.
#[test]
fn generated_deep_and_wide_expressions_plan_without_overflowing() {
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let (schema, batch) = trips();
            let passengers = [1i64, 3, 2, 5];
            let mut rng = Rng(7);
            for case in 0..40 {
                // An AND of ORs of comparisons, each part of random length, some wrapped in
                // parentheses up to the parser's nesting limit.
                let groups = 1 + rng.below(4) as usize;
                let mut parts = Vec::new();
                let mut expected = [true; 4];
                for _ in 0..groups {
                    let terms = 1 + rng.below(if case % 5 == 0 { 30_000 } else { 300 }) as usize;
                    let values: Vec<i64> = (0..terms).map(|_| rng.below(8) as i64).collect();
                    let depth = rng.below(30) as usize;
                    let or = values
                        .iter()
                        .map(|v| format!("passengers = {v}"))
                        .collect::<Vec<_>>()
                        .join(" OR ");
                    parts.push(format!(
                        "{}{or}{}",
                        "(".repeat(depth + 1),
                        ")".repeat(depth + 1)
                    ));
                    for (row, p) in passengers.iter().enumerate() {
                        expected[row] &= values.contains(p);
                    }
                }
                let text = parts.join(" AND ");
                let planned = plan_predicate(&text, &schema)
                    .unwrap_or_else(|e| panic!("case {case}: {}", e.message));
                let mask = planned.evaluate(&batch).unwrap();
                let mask = mask.as_any().downcast_ref::<BooleanArray>().unwrap();
                let got: Vec<bool> = (0..4).map(|i| mask.value(i)).collect();
                assert_eq!(got, expected, "case {case}");
            }
            // Nesting past the parser's limit and chains that cannot be rebalanced are refused,
            // with a message rather than a crash.
            let deep = format!("{}passengers{}", "(".repeat(500), ")".repeat(500));
            assert!(plan_expr(&deep, &schema).is_err());
            let long = vec!["passengers"; 5_000].join(" + ");
            let error = plan_expr(&long, &schema).unwrap_err();
            assert!(
                error.message.contains("4999 operators"),
                "{}",
                error.message
            );
        })
        .unwrap();
    worker.join().unwrap();
}

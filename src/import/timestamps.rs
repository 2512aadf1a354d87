//! `to_timestamp(text, format [, format ...])` for mapping SQL: DataFusion's own
//! function, with its formats parsed once per batch.
//!
//! DataFusion reads the format string again for every value (chrono's `StrftimeItems`
//! is lazy), which made the four date columns of a PSA export most of an import's
//! time. Here a text column with constant formats is parsed with the formats' items
//! prepared once, by the same chrono parser and the same rules, errors included;
//! every other call (a format column, `%Z`, a session time zone, another type) goes to
//! DataFusion's function unchanged.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, TimestampNanosecondArray};
use arrow::datatypes::{DataType, FieldRef, TimeUnit};
use chrono::format::{Item, Parsed, StrftimeItems, parse};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{Result, exec_datafusion_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature,
};

/// DataFusion's message for an instant outside the nanosecond range.
const ERR_NANOSECONDS_NOT_SUPPORTED: &str = "The dates that can be represented as nanoseconds have to be between 1677-09-21T00:12:44.0 and 2262-04-11T23:47:16.854775804";

/// `to_timestamp` with prepared formats, around DataFusion's own `to_timestamp`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PreparedToTimestamp {
    builtin: Arc<ScalarUDF>,
}

impl PreparedToTimestamp {
    /// Wraps the session's `to_timestamp` (as configured for its time zone).
    pub fn udf(builtin: Arc<ScalarUDF>) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self { builtin })
    }
}

/// One format, as text (for messages) and as chrono's items.
struct Format<'a> {
    text: &'a str,
    items: Vec<Item<'static>>,
}

impl ScalarUDFImpl for PreparedToTimestamp {
    fn name(&self) -> &str {
        self.builtin.name()
    }

    fn aliases(&self) -> &[String] {
        self.builtin.aliases()
    }

    fn signature(&self) -> &Signature {
        self.builtin.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.builtin.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.builtin.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.builtin.coerce_types(arg_types)
    }

    fn with_updated_config(&self, config: &ConfigOptions) -> Option<ScalarUDF> {
        let updated = self.builtin.inner().with_updated_config(config)?;
        Some(Self::udf(Arc::new(updated)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match prepared_formats(&args) {
            Some((values, formats)) => parse_all(values, &formats),
            None => self.builtin.invoke_with_args(args),
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.builtin.documentation()
    }
}

/// The text column and its formats, when this call is one the prepared path takes: a
/// text array, constant text formats that chrono reads without error and without
/// `%Z` (which DataFusion handles itself), and a result without a time zone.
fn prepared_formats(args: &ScalarFunctionArgs) -> Option<(&ArrayRef, Vec<Format<'_>>)> {
    if args.return_field.data_type() != &DataType::Timestamp(TimeUnit::Nanosecond, None) {
        return None;
    }
    let (ColumnarValue::Array(values), formats) = args.args.split_first()? else {
        return None;
    };
    if formats.is_empty()
        || !matches!(
            values.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
    {
        return None;
    }
    let mut prepared = Vec::with_capacity(formats.len());
    for format in formats {
        let ColumnarValue::Scalar(scalar) = format else {
            return None;
        };
        // a NULL format is skipped, as DataFusion skips it
        let Some(text) = scalar.try_as_str()? else {
            continue;
        };
        if text.contains("%Z") {
            return None;
        }
        let items = StrftimeItems::new(text).parse_to_owned().ok()?;
        prepared.push(Format { text, items });
    }
    Some((values, prepared))
}

fn parse_all(values: &ArrayRef, formats: &[Format]) -> Result<ColumnarValue> {
    let parse_value = |value: Option<&str>| -> Result<Option<i64>> {
        let Some(value) = value else {
            return Ok(None);
        };
        let mut last_error = None;
        for format in formats {
            match parse_with(value, format) {
                Ok(nanos) => return Ok(Some(nanos)),
                Err(e) => last_error = Some(e),
            }
        }
        last_error.map_or(Ok(None), Err)
    };
    let parsed: Result<Vec<Option<i64>>> = match values.data_type() {
        DataType::Utf8 => values.as_string::<i32>().iter().map(parse_value).collect(),
        DataType::LargeUtf8 => values.as_string::<i64>().iter().map(parse_value).collect(),
        _ => values.as_string_view().iter().map(parse_value).collect(),
    };
    let parsed = TimestampNanosecondArray::from(parsed?);
    Ok(ColumnarValue::Array(Arc::new(parsed)))
}

/// One value in one format, as DataFusion's `to_timestamp` reads it without a session
/// time zone: an offset in the text gives the instant, else the local time is UTC, and
/// a date alone is its midnight.
fn parse_with(value: &str, format: &Format) -> Result<i64> {
    let error = |context: &dyn std::fmt::Display| {
        exec_datafusion_err!(
            "Error parsing timestamp from '{value}' using format '{}': {context}",
            format.text
        )
    };
    let mut parsed = Parsed::new();
    parse(&mut parsed, value, format.items.iter()).map_err(|e| error(&e))?;
    let utc = match parsed.to_datetime() {
        Ok(with_offset) => with_offset.naive_utc(),
        Err(_) => parsed
            .to_naive_datetime_with_offset(0)
            .or_else(|_| parsed.to_naive_date().map(Into::into))
            .map_err(|e| error(&e))?,
    };
    utc.and_utc()
        .timestamp_nanos_opt()
        .ok_or_else(|| exec_datafusion_err!("{ERR_NANOSECONDS_NOT_SUPPORTED}"))
}

#[cfg(test)]
mod tests {
    use arrow::array::StringArray;
    use datafusion::common::ScalarValue;
    use datafusion::execution::FunctionRegistry;
    use datafusion::prelude::SessionContext;
    use proptest::prelude::*;

    use super::*;

    /// The arguments of `to_timestamp(value, formats...)`.
    fn call(
        udf: &ScalarUDF,
        values: &[Option<&str>],
        formats: &[Option<&str>],
    ) -> ScalarFunctionArgs {
        let values: ArrayRef = Arc::new(StringArray::from(values.to_vec()));
        let mut args = vec![ColumnarValue::Array(values.clone())];
        args.extend(
            formats
                .iter()
                .map(|f| ColumnarValue::Scalar(ScalarValue::Utf8(f.map(str::to_string)))),
        );
        let fields: Vec<FieldRef> = args
            .iter()
            .map(|a| Arc::new(arrow::datatypes::Field::new("a", a.data_type(), true)))
            .collect();
        let return_field = udf
            .return_field_from_args(ReturnFieldArgs {
                arg_fields: &fields,
                scalar_arguments: &vec![None; fields.len()],
            })
            .unwrap();
        ScalarFunctionArgs {
            args,
            arg_fields: fields,
            number_rows: values.len(),
            return_field,
            config_options: Arc::new(ConfigOptions::default()),
        }
    }

    /// The value (or error) of `to_timestamp(value, formats...)` with the given UDF.
    fn run(udf: &ScalarUDF, values: &[Option<&str>], formats: &[Option<&str>]) -> String {
        let args = call(udf, values, formats);
        let rows = args.number_rows;
        match udf.invoke_with_args(args) {
            Ok(value) => {
                let array = value.to_array(rows).unwrap();
                arrow::util::pretty::pretty_format_columns("v", &[array])
                    .unwrap()
                    .to_string()
            }
            Err(e) => e.to_string(),
        }
    }

    fn both(values: &[Option<&str>], formats: &[Option<&str>]) -> (String, String) {
        let ctx = SessionContext::new();
        let builtin = ctx.udf("to_timestamp").unwrap();
        let prepared = PreparedToTimestamp::udf(builtin.clone());
        (
            run(&builtin, values, formats),
            run(&prepared, values, formats),
        )
    }

    const FORMATS: [&str; 7] = [
        "%m/%d/%Y %I:%M %p",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%z",
        "%d.%m.%Y",
        "%Y-%m-%d %H:%M:%S%.f",
        "%s",
        "%m/%d/%Y %H:%M",
    ];

    #[test]
    fn psa_times_offsets_dates_nulls_and_bad_values_read_as_datafusion_reads_them() {
        let values = [
            Some("10/5/2026 2:03 PM"),
            Some("2026-10-05T14:03:00+0200"),
            Some("05.10.2026"),
            None,
            Some("2026-10-05 14:03:00.123456"),
        ];
        let formats = [
            Some(FORMATS[0]),
            Some(FORMATS[2]),
            None,
            Some(FORMATS[3]),
            Some(FORMATS[4]),
        ];
        let builtin = SessionContext::new().udf("to_timestamp").unwrap();
        let args = call(&builtin, &values, &formats);
        assert_eq!(
            prepared_formats(&args).map(|(_, f)| f.len()),
            Some(4),
            "the prepared path"
        );
        // a format with %Z goes to DataFusion's function
        let named_zone = call(&builtin, &values, &[Some("%Y-%m-%d %H:%M %Z")]);
        assert!(prepared_formats(&named_zone).is_none());
        let (builtin, prepared) = both(&values, &formats);
        assert!(builtin.contains("2026-10-05T14:03:00"), "{builtin}");
        assert_eq!(prepared, builtin);
        // the error of the last format tried, naming the value
        let (builtin, prepared) = both(
            &[Some("13/45/2026 1:00 PM")],
            &[Some(FORMATS[0]), Some(FORMATS[1])],
        );
        assert!(builtin.contains("'13/45/2026 1:00 PM'"), "{builtin}");
        assert_eq!(prepared, builtin);
        // outside the nanosecond range
        let (builtin, prepared) = both(&[Some("01.01.1500")], &[Some(FORMATS[3])]);
        assert!(builtin.contains("nanoseconds"), "{builtin}");
        assert_eq!(prepared, builtin);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

        #[test]
        fn any_text_in_any_formats_gives_datafusion_s_value_or_error(
            values in proptest::collection::vec(proptest::option::weighted(0.9, "[0-9 :./TAPM+-]{0,24}|[0-9]{1,2}/[0-9]{1,2}/20[0-9]{2} [0-9]{1,2}:[0-9]{2} (AM|PM)"), 1..6),
            formats in proptest::collection::vec(proptest::option::weighted(0.9, 0..FORMATS.len()), 1..4),
        ) {
            let values: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
            let formats: Vec<Option<&str>> = formats.iter().map(|f| f.map(|i| FORMATS[i])).collect();
            let (builtin, prepared) = both(&values, &formats);
            prop_assert_eq!(prepared, builtin);
        }
    }
}

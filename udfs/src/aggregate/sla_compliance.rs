use std::hint::select_unpredictable;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Int8Type, Int16Type, Int32Type, UInt8Type, UInt16Type,
};
use datafusion_common::{Result, ScalarValue};
use datafusion_expr::function::AggregateFunctionSimplification;
use datafusion_expr::{Documentation, Expr, Signature, Volatility};
use datafusion_macros::user_doc;

use crate::args::{
    MICROS_PER_MINUTE, PerRow, RowValue, Same, check_arity, constant_i64, constant_micros,
    integers_as_i64, temporal_as_micros,
};
use crate::calendar::Calendar;
use crate::pauses::PauseLists;
use crate::ratio::{
    RatioAggregate, RatioFunction, RatioKernel, find_selected, first_selected, for_each_row,
    keys_for,
};
use crate::sla::{sla_arg_types, sla_state, target_micros};

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "SLA compliance: the percentage of decided SLAs that were met. With one BOOLEAN argument, the share of true among non-NULL values (NULL = pending, excluded). With (created_at, done_at, target_minutes, as_of [, calendar]) each row is decided like sla_met: met when done within target, breached when done late or not done and already past target; pending rows (not done, still within target) are excluded. With a calendar only business hours count. With pauses (as sla_pauses returns them) the clock stops inside them, so a pause pushes the deadline out; NULL pauses = none. A group with nothing decided gives NULL.",
    syntax_example = "sla_compliance(met) | sla_compliance(created_at, done_at, target_minutes, as_of [, calendar [, pauses]])",
    sql_example = r#"```sql
> SELECT sla_compliance(met) FROM (VALUES (true), (true), (false), (NULL)) AS t(met);
+----------------------------+
| sla_compliance(t.met)      |
+----------------------------+
| 66.66666666666667          |
+----------------------------+
> SELECT sla_compliance(created_at, first_response_at, 60, TIMESTAMP '2026-11-01 00:00:00', 'Mon-Fri 08:00-18:00 UTC') FROM tickets;
```"#,
    argument(
        name = "met",
        description = "BOOLEAN: true = SLA met, false = breached, NULL = pending."
    ),
    argument(
        name = "created_at",
        description = "When the clock started (timestamp of any unit and zone, or date)."
    ),
    argument(
        name = "done_at",
        description = "When the response or resolution happened; NULL = not yet."
    ),
    argument(
        name = "target_minutes",
        description = "The SLA target in minutes (any integer type)."
    ),
    argument(
        name = "as_of",
        description = "The moment the state is judged at: a done_at after it counts as not done."
    ),
    argument(
        name = "calendar",
        description = "Optional business-hours calendar spec, e.g. 'Mon-Fri 08:00-18:00 Europe/Berlin holidays 2026-12-25'; '24x7' = wall clock."
    ),
    argument(
        name = "pauses",
        description = "Optional list of {start, end} structs during which the clock stops (sla_pauses); a NULL end = still paused."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SlaCompliance {
    signature: Signature,
}

impl Default for SlaCompliance {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

udaf_singleton!(
    sla_compliance_udaf,
    RatioAggregate(SlaCompliance::default(),)
);

/// Where business time comes from in the five-argument form.
#[derive(Debug)]
pub enum Clock {
    /// No calendar, or the constant calendar `24x7`: plain elapsed time.
    Wall,
    /// One constant calendar, parsed once.
    Calendar(Arc<Calendar>),
    /// A calendar column, parsed once per distinct spec per batch.
    PerRow,
}

#[derive(Debug)]
pub enum SlaComplianceKernel {
    Met,
    Times {
        clock: Clock,
        /// `target_minutes` when it is a constant.
        target: Option<i64>,
        /// `as_of` in UTC microseconds when it is a constant.
        as_of: Option<i64>,
        /// Whether a sixth argument gives each row's pauses.
        pauses: bool,
    },
}

const NAME: &str = "sla_compliance";

/// `as_of` of one batch: a constant, or a column's values in UTC microseconds.
enum AsOf {
    Same(i64),
    Each(ScalarBuffer<i64>),
}

impl AsOf {
    fn at(&self, row: usize) -> i64 {
        match self {
            AsOf::Same(as_of) => *as_of,
            AsOf::Each(as_of) => as_of[row],
        }
    }
}

/// `target_minutes` of one batch: a constant, or a column read in 32 bits when its type
/// fits (the usual Int32 without a copy), else in 64.
enum Targets {
    Same(i64),
    Narrow(ScalarBuffer<i32>),
    Wide(ScalarBuffer<i64>),
}

impl Targets {
    fn read(array: &ArrayRef) -> Result<Self> {
        fn narrow<T: ArrowPrimitiveType<Native: Into<i32>>>(array: &ArrayRef) -> Targets {
            let values = array.as_primitive::<T>().values();
            Targets::Narrow(values.iter().map(|&v| v.into()).collect())
        }
        Ok(match array.data_type() {
            DataType::Int32 => Targets::Narrow(array.as_primitive::<Int32Type>().values().clone()),
            DataType::Int8 => narrow::<Int8Type>(array),
            DataType::Int16 => narrow::<Int16Type>(array),
            DataType::UInt8 => narrow::<UInt8Type>(array),
            DataType::UInt16 => narrow::<UInt16Type>(array),
            _ => Targets::Wide(integers_as_i64(NAME, array)?),
        })
    }

    fn minutes_at(&self, row: usize) -> i64 {
        match self {
            Targets::Same(minutes) => *minutes,
            Targets::Narrow(minutes) => minutes[row].into(),
            Targets::Wide(minutes) => minutes[row],
        }
    }

    /// The first selected row of the batch's `rows` whose target is negative.
    fn first_negative(&self, rows: usize, selection: Option<&BooleanBuffer>) -> Option<usize> {
        match self {
            // A constant target is tested once, not per row.
            Targets::Same(minutes) if *minutes < 0 => first_selected(rows, selection),
            Targets::Same(_) => None,
            Targets::Narrow(minutes) => find_selected(minutes, selection, |m| m < 0),
            Targets::Wide(minutes) => find_selected(minutes, selection, |m| m < 0),
        }
    }
}

/// A target as read per row, turned into microseconds without a branch.
trait TargetMinutes: Copy {
    fn micros(self) -> i64;
}

impl TargetMinutes for i32 {
    #[inline(always)]
    fn micros(self) -> i64 {
        // |i32| × 6·10^7 < 2^63: no overflow to saturate.
        i64::from(self) * MICROS_PER_MINUTE
    }
}

impl TargetMinutes for i64 {
    #[inline(always)]
    fn micros(self) -> i64 {
        self.saturating_mul(MICROS_PER_MINUTE)
    }
}

/// A constant target, converted to microseconds once.
#[derive(Clone, Copy)]
struct TargetMicros(i64);

impl TargetMinutes for TargetMicros {
    #[inline(always)]
    fn micros(self) -> i64 {
        self.0
    }
}

/// The timestamps of one batch of the five-argument form, in UTC microseconds, with
/// the key of each row.
struct TimesBatch<'a, K> {
    keys: &'a [K],
    created: &'a [i64],
    done: &'a [i64],
    done_valid: Option<&'a BooleanBuffer>,
    selection: Option<&'a BooleanBuffer>,
}

impl<K: Copy> TimesBatch<'_, K> {
    /// Runs [`Self::wall_clock`] compiled for this batch's kinds of target and as_of.
    fn wall_clock_for<F: FnMut(K, i64, i64)>(&self, targets: &Targets, as_of: &AsOf, add: &mut F) {
        let rows = self.created.len();
        match as_of {
            AsOf::Same(as_of) => self.wall_clock_at(targets, Same(*as_of), add),
            AsOf::Each(as_of) => self.wall_clock_at(targets, &as_of[..rows], add),
        }
    }

    #[inline(always)]
    fn wall_clock_at<F: FnMut(K, i64, i64)>(
        &self,
        targets: &Targets,
        as_of: impl RowValue<i64>,
        add: &mut F,
    ) {
        let rows = self.created.len();
        match targets {
            Targets::Same(minutes) => {
                let micros = TargetMicros(minutes.micros());
                self.wall_clock(Same(micros), as_of, add)
            }
            Targets::Narrow(minutes) => self.wall_clock(&minutes[..rows], as_of, add),
            Targets::Wide(minutes) => self.wall_clock(&minutes[..rows], as_of, add),
        }
    }

    /// Wall-clock SLA states without a branch on the data: met when done by `as_of` and
    /// by the deadline (created + target); decided when done by `as_of`, or not done and
    /// `as_of` already past the deadline. Targets are checked to be non-negative before,
    /// so a deadline can only saturate upwards, where every instant is before it, as it
    /// would be without saturation.
    #[inline(always)]
    fn wall_clock<M: TargetMinutes, F: FnMut(K, i64, i64)>(
        &self,
        target: impl RowValue<M>,
        as_of: impl RowValue<i64>,
        add: &mut F,
    ) {
        // Slices of the keys' length, so that the loop indexes them without bounds checks.
        let keys = self.keys;
        let created = &self.created[..keys.len()];
        let done = &self.done[..keys.len()];
        for_each_row(
            keys,
            self.selection,
            self.done_valid,
            |row, key, weight, done_valid| {
                let (done, as_of) = (done[row], as_of.at(row));
                let deadline = created[row].saturating_add(target.at(row).micros());
                let done_by = (done_valid != 0) & (done <= as_of);
                let met = done_by & (done <= deadline);
                let decided = done_by | (as_of > deadline);
                // Without the hint LLVM turns these selects into branches on the data.
                add(
                    key,
                    select_unpredictable(met, weight, 0),
                    select_unpredictable(decided, weight, 0),
                );
            },
        );
    }
}

impl RatioKernel for SlaComplianceKernel {
    fn contribute<K: Copy, F: FnMut(K, i64, i64)>(
        &self,
        args: &[ArrayRef],
        selection: Option<&BooleanBuffer>,
        keys: &[K],
        mut add: F,
    ) -> Result<()> {
        let SlaComplianceKernel::Times {
            clock,
            target: constant_target,
            as_of: constant_as_of,
            pauses,
        } = self
        else {
            let met = args[0].as_boolean().values();
            let keys = keys_for(keys, met.len())?;
            for_each_row(keys, selection, Some(met), |_, key, weight, met| {
                add(key, weight & met, weight)
            });
            return Ok(());
        };
        let created = temporal_as_micros(NAME, &args[0])?;
        let done = temporal_as_micros(NAME, &args[1])?;
        let done_valid = args[1].logical_nulls();
        let targets = match constant_target {
            Some(minutes) => Targets::Same(*minutes),
            None => Targets::read(&args[2])?,
        };
        let as_of = match constant_as_of {
            Some(micros) => AsOf::Same(*micros),
            None => AsOf::Each(temporal_as_micros(NAME, &args[3])?),
        };
        if let Some(row) = targets.first_negative(created.len(), selection) {
            target_micros(NAME, targets.minutes_at(row))?;
        }
        let pauses = match pauses {
            true => Some(PauseLists::from_array(NAME, &args[5])?),
            false => None,
        };
        let calendars = match clock {
            Clock::Wall if pauses.is_some() => PerRow::Uniform(None),
            Clock::Wall => {
                let batch = TimesBatch {
                    keys: keys_for(keys, created.len())?,
                    created: &created,
                    done: &done,
                    done_valid: done_valid.as_ref().map(NullBuffer::inner),
                    selection,
                };
                batch.wall_clock_for(&targets, &as_of, &mut add);
                return Ok(());
            }
            Clock::Calendar(calendar) => PerRow::Uniform(Some(Arc::clone(calendar))),
            Clock::PerRow => PerRow::from_array(&args[4], Calendar::parse)?,
        };
        // Business time costs far more than the loop around it: go row by row.
        let mut error = None;
        let mut scratch = Vec::new();
        let keys = keys_for(keys, created.len())?;
        for_each_row(keys, selection, None, |row, key, weight, _| {
            if weight == 0 || error.is_some() {
                return;
            }
            let done_at = done_valid
                .as_ref()
                .is_none_or(|v| v.is_valid(row))
                .then(|| done[row]);
            let calendar = calendars.get(row);
            let pauses = match &pauses {
                Some(pauses) => pauses.row(row, &mut scratch),
                None => &[],
            };
            match sla_state(
                NAME,
                created[row],
                done_at,
                targets.minutes_at(row),
                as_of.at(row),
                calendar,
                pauses,
            ) {
                Ok(Some(met)) => add(key, met as i64, 1),
                Ok(None) => {}
                Err(e) => error = Some(e),
            }
        });
        error.map_or(Ok(()), Err)
    }

    fn required_args(&self) -> &[usize] {
        match self {
            SlaComplianceKernel::Met => &[0],
            SlaComplianceKernel::Times {
                clock: Clock::Wall,
                pauses: false,
                ..
            } => &[0, 2, 3],
            SlaComplianceKernel::Times { .. } => &[0, 2, 3, 4],
        }
    }
}

impl RatioFunction for SlaCompliance {
    type Kernel = SlaComplianceKernel;

    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[1, 4, 5, 6])?;
        if arg_types.len() == 1 {
            return match &arg_types[0] {
                DataType::Boolean | DataType::Null => Ok(vec![DataType::Boolean]),
                t => datafusion_common::plan_err!(
                    "{NAME}: the one-argument form takes a BOOLEAN (met), got {t}"
                ),
            };
        }
        sla_arg_types(NAME, arg_types)
    }

    fn kernel(
        &self,
        arg_types: &[DataType],
        constants: &[Option<ScalarValue>],
    ) -> Result<SlaComplianceKernel> {
        if arg_types.len() == 1 {
            return Ok(SlaComplianceKernel::Met);
        }
        let constant = |i: usize| constants.get(i).and_then(Option::as_ref);
        let clock = match (
            arg_types.len(),
            constant(4).and_then(|c| c.try_as_str().flatten()),
        ) {
            (4, _) => Clock::Wall,
            (_, Some(spec)) => match Calendar::parse(spec)? {
                calendar if calendar.is_wall_clock() => Clock::Wall,
                calendar => Clock::Calendar(Arc::new(calendar)),
            },
            _ => Clock::PerRow,
        };
        Ok(SlaComplianceKernel::Times {
            clock,
            target: constant(2).map(|t| constant_i64(NAME, t)).transpose()?,
            as_of: constant(3).map(|t| constant_micros(NAME, t)).transpose()?,
            pauses: arg_types.len() == 6,
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }

    /// A literal wall-clock calendar (`'24x7'`) makes the call the four-argument form:
    /// dropping it spares DataFusion turning the literal into a string column for every
    /// batch. Other calendars, and invalid ones (their error comes at execution, as for
    /// a column), are kept.
    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|mut function, _| {
            let wall_clock = match function.params.args.as_slice() {
                [_, _, _, _, Expr::Literal(calendar, _)] => calendar
                    .try_as_str()
                    .flatten()
                    .and_then(|spec| Calendar::parse(spec).ok())
                    .is_some_and(|calendar| calendar.is_wall_clock()),
                _ => false,
            };
            if wall_clock {
                function.params.args.pop();
            }
            Ok(Expr::AggregateFunction(function))
        }))
    }
}

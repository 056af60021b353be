package validation

// Reasons for discarding data, as Loki labels its discarded_samples_total metric.
const (
	ReasonRateLimited         = "rate_limited"
	ReasonStreamRateLimited   = "per_stream_rate_limit"
	ReasonLineTooLong         = "line_too_long"
	ReasonTooFarBehind        = "too_far_behind"
	ReasonGreaterThanMaxAge   = "greater_than_max_sample_age"
	ReasonTooFarInFuture      = "too_far_in_future"
	ReasonMissingLabels       = "missing_labels"
	ReasonInvalidLabels       = "invalid_labels"
	ReasonMaxLabelNames       = "max_label_names_per_series"
	ReasonLabelNameTooLong    = "label_name_too_long"
	ReasonLabelValueTooLong   = "label_value_too_long"
	ReasonDuplicateLabelNames = "duplicate_label_names"
	ReasonStreamLimit         = "stream_limit"
	ReasonStructuredMetadata  = "structured_metadata_too_large"
	ReasonDisallowedMetadata  = "disallowed_structured_metadata"
)

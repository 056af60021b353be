package s3

import (
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sluicelog/sluice/pkg/storage"
)

// ErrAccessDenied is wrapped into errors for requests the server refused for their
// credentials: an unknown access key, a wrong secret, or missing permissions.
var ErrAccessDenied = errors.New("access denied")

// ErrNoSuchBucket is wrapped into errors for requests to a bucket that does not exist.
var ErrNoSuchBucket = errors.New("bucket does not exist")

// wrapErr turns an SDK error into one that says what was being done, wrapping
// storage.ErrNotFound, ErrNoSuchBucket or ErrAccessDenied where they apply. The SDK error
// stays in the chain, so context.Canceled and the smithy types still match errors.Is/As.
func wrapErr(op, key string, err error) error {
	var apiErr smithy.APIError
	code := ""
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	status := 0
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	var noKey *types.NoSuchKey
	var notFound *types.NotFound
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("%s %s: %w: %w", op, key, ErrNoSuchBucket, err)
	case accessCodes[code], status == http.StatusForbidden:
		return fmt.Errorf("%s %s: %w: check access_key_id, secret_access_key and session_token, or the role's permissions: %w", op, key, ErrAccessDenied, err)
	// A 404 with another code (versitygw's XAdminUserNotFound, say) is not a missing key. HEAD
	// answers carry no body, hence no code: their 404 is NotFound.
	case errors.As(err, &noKey), errors.As(err, &notFound), code == "NoSuchKey", code == "NotFound",
		status == http.StatusNotFound && code == "":
		return fmt.Errorf("%s %s: %w", op, key, storage.ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// accessCodes are the error codes of requests refused for their credentials. S3 itself answers
// 403; versitygw answers an unknown key with 404 XAdminUserNotFound.
var accessCodes = map[string]bool{
	"InvalidAccessKeyId":    true,
	"SignatureDoesNotMatch": true,
	"AccessDenied":          true,
	"InvalidToken":          true,
	"ExpiredToken":          true,
	"TokenRefreshRequired":  true,
	"XAdminUserNotFound":    true,
}

// isNotFound reports whether a wrapped error says the key is missing.
func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// isRangeNotSatisfiable reports a 416 answer: the range starts at or past the object's end.
func isRangeNotSatisfiable(err error) bool {
	if err == nil {
		return false
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidRange" {
		return true
	}
	var respErr *awshttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusRequestedRangeNotSatisfiable
}

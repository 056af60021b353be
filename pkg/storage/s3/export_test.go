package s3

// SetListPageSize makes List fetch n keys a page, so tests can cross page boundaries cheaply.
func (c *Client) SetListPageSize(n int32) { c.listPageSize = n }

package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/device"
)

// deviceStore keeps device authorizations (device.Store).
type deviceStore interface {
	Start(ctx context.Context, r device.Request) (device.Started, error)
	Poll(ctx context.Context, deviceCode, clientID string) (device.Granted, error)
}

var _ deviceStore = (*device.Store)(nil)

// PathDevice is the verification page (RFC 8628 §3.3).
const PathDevice = "/o/device/"

// Device flow error codes (RFC 8628 §3.5).
const (
	CodeAuthorizationPending = "authorization_pending"
	CodeExpiredToken         = "expired_token"
)

// DeviceAuthorization is the device authorization response (RFC 8628
// §3.2).
type DeviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// DeviceEnabled reports whether the device grant is wired.
func (s *Server) DeviceEnabled() bool { return s != nil && s.devices != nil }

// DeviceAuthorize is the device authorization endpoint (RFC 8628 §3.1):
// the client authenticates as at the token endpoint (a public client
// sends its client_id), must be registered for the device grant, and gets
// a device code and a user code for the scope it asks (or its default).
// base is the server's public URL, for the verification URI.
func (s *Server) DeviceAuthorize(ctx context.Context, r TokenRequest, base string) (DeviceAuthorization, *Error) {
	if !s.DeviceEnabled() {
		return DeviceAuthorization{}, ErrUnsupportedGrantType()
	}
	if err := single(r.Form, "scope", "client_id"); err != nil {
		return DeviceAuthorization{}, err
	}
	c, oerr := s.authenticateClient(ctx, r.Credentials)
	if oerr != nil {
		return DeviceAuthorization{}, oerr
	}
	if !c.AllowsGrant(clients.GrantDeviceCode) {
		return DeviceAuthorization{}, ErrUnauthorizedClient()
	}
	sc, oerr := s.resolveScope(c, r.Form.Get("scope"))
	if oerr != nil {
		return DeviceAuthorization{}, oerr
	}
	st, err := s.devices.Start(ctx, device.Request{ClientID: c.ClientID, Scope: sc.String()})
	if err != nil {
		return DeviceAuthorization{}, ErrUnavailable(err)
	}
	vu := base + PathDevice
	return DeviceAuthorization{
		DeviceCode: st.DeviceCode, UserCode: st.UserCode, VerificationURI: vu,
		VerificationURIComplete: vu + "?" + url.Values{"user_code": {st.UserCode}}.Encode(),
		ExpiresIn:               int64(st.ExpiresIn / time.Second), Interval: int64(st.Interval / time.Second),
	}, nil
}

// deviceError maps a poll's outcome to RFC 8628 §3.5.
func deviceError(err error) *Error {
	bad := func(code, desc string) *Error {
		return &Error{Code: code, Description: desc, Status: http.StatusBadRequest}
	}
	switch {
	case errors.Is(err, device.ErrPending):
		return bad(CodeAuthorizationPending, "")
	case errors.Is(err, device.ErrSlowDown):
		return bad(CodeSlowDown, "Poll less often: the interval grew by 5 seconds.")
	case errors.Is(err, device.ErrDenied):
		return bad(CodeAccessDenied, "The user denied the request.")
	case errors.Is(err, device.ErrExpired):
		return bad(CodeExpiredToken, "The device code has expired.")
	case errors.Is(err, device.ErrUnavailable):
		return ErrUnavailable(err)
	}
	return ErrInvalidGrant("")
}

// PathDeviceAuthorization is the device authorization endpoint.
const PathDeviceAuthorization = "/o/device_authorization/"

// deviceURI is the device authorization endpoint, "" when the grant is off.
func (s *Server) deviceURI(base string) string {
	if !s.DeviceEnabled() {
		return ""
	}
	return base + PathDeviceAuthorization
}

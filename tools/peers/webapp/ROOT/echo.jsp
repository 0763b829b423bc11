<%@ page contentType="application/json; charset=UTF-8" session="false" trimDirectiveWhitespaces="true" import="java.util.*" %><%!
  // echo.jsp answers a JSON description of the request as the servlet API sees it. It never reads
  // the body. Extra request attributes to look up by name: ?attr=<name> (repeatable).
  static String q(Object o) {
    if (o == null) return "null";
    String s = String.valueOf(o);
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20 || c == 0x7f) b.append(String.format("\\%c%04x", 'u', (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }
  static String value(Object v) {
    if (v instanceof java.security.cert.X509Certificate[]) {
      StringBuilder b = new StringBuilder("[");
      for (java.security.cert.X509Certificate c : (java.security.cert.X509Certificate[]) v) {
        if (b.length() > 1) b.append(',');
        b.append(q(c.getSubjectX500Principal().getName()));
      }
      return b.append(']').toString();
    }
    if (v instanceof Object[]) return q(Arrays.toString((Object[]) v));
    if (v instanceof Number || v instanceof Boolean) return String.valueOf(v);
    return q(v);
  }
  static final String[] KNOWN = {
    "jakarta.servlet.request.cipher_suite", "jakarta.servlet.request.key_size",
    "jakarta.servlet.request.ssl_session_id", "jakarta.servlet.request.X509Certificate",
    "jakarta.servlet.request.secure_protocol",
    "javax.servlet.request.cipher_suite", "javax.servlet.request.key_size",
    "javax.servlet.request.ssl_session_id", "javax.servlet.request.X509Certificate",
    "AJP_REMOTE_PORT", "AJP_LOCAL_ADDR", "AJP_SSL_PROTOCOL"
  };
%><%
  StringBuilder j = new StringBuilder("{");
  j.append("\"node\":").append(q(System.getProperty("cohort.node")));
  j.append(",\"method\":").append(q(request.getMethod()));
  j.append(",\"requestURI\":").append(q(request.getRequestURI()));
  j.append(",\"queryString\":").append(q(request.getQueryString()));
  j.append(",\"protocol\":").append(q(request.getProtocol()));
  j.append(",\"scheme\":").append(q(request.getScheme()));
  j.append(",\"secure\":").append(request.isSecure());
  j.append(",\"serverName\":").append(q(request.getServerName()));
  j.append(",\"serverPort\":").append(request.getServerPort());
  j.append(",\"remoteAddr\":").append(q(request.getRemoteAddr()));
  j.append(",\"remoteHost\":").append(q(request.getRemoteHost()));
  j.append(",\"remotePort\":").append(request.getRemotePort());
  j.append(",\"localAddr\":").append(q(request.getLocalAddr()));
  j.append(",\"localPort\":").append(request.getLocalPort());
  j.append(",\"remoteUser\":").append(q(request.getRemoteUser()));
  j.append(",\"authType\":").append(q(request.getAuthType()));
  j.append(",\"contentType\":").append(q(request.getContentType()));
  j.append(",\"contentLength\":").append(request.getContentLengthLong());
  j.append(",\"requestedSessionId\":").append(q(request.getRequestedSessionId()));
  j.append(",\"headers\":[");
  boolean first = true;
  for (Enumeration<String> names = request.getHeaderNames(); names.hasMoreElements();) {
    String name = names.nextElement();
    for (Enumeration<String> vals = request.getHeaders(name); vals.hasMoreElements();) {
      if (!first) j.append(',');
      first = false;
      j.append('[').append(q(name)).append(',').append(q(vals.nextElement())).append(']');
    }
  }
  j.append("],\"attributes\":{");
  Set<String> wanted = new LinkedHashSet<String>();
  for (Enumeration<String> names = request.getAttributeNames(); names.hasMoreElements();) wanted.add(names.nextElement());
  wanted.addAll(Arrays.asList(KNOWN));
  String qs = request.getQueryString();
  if (qs != null) {
    for (String part : qs.split("&")) {
      if (part.startsWith("attr=")) wanted.add(java.net.URLDecoder.decode(part.substring(5), "UTF-8"));
    }
  }
  first = true;
  for (String name : wanted) {
    Object v = request.getAttribute(name);
    if (v == null) continue;
    if (!first) j.append(',');
    first = false;
    j.append(q(name)).append(':').append(value(v));
  }
  j.append("}}\n");
  out.print(j);
%>
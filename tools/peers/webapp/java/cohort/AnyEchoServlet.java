package cohort;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Mapped to /any/*: answers every HTTP method (JSPs only take GET, POST and HEAD) with a JSON
 * description of the request, including the size and SHA-256 of its body. Query parameters
 * (read from the raw query string, never from the body): status=N sets the response status,
 * attr=NAME looks up one more request attribute by name.
 */
public class AnyEchoServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;

  private static final String[] KNOWN = {
    "jakarta.servlet.request.cipher_suite", "jakarta.servlet.request.key_size",
    "jakarta.servlet.request.ssl_session_id", "jakarta.servlet.request.X509Certificate",
    "jakarta.servlet.request.secure_protocol", "AJP_REMOTE_PORT", "AJP_LOCAL_ADDR", "AJP_SSL_PROTOCOL"
  };

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

  @Override
  protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IOException(e);
    }
    InputStream in = request.getInputStream();
    byte[] buf = new byte[65536];
    long total = 0;
    int r;
    while ((r = in.read(buf)) >= 0) {
      md.update(buf, 0, r);
      total += r;
    }
    StringBuilder hex = new StringBuilder();
    for (byte x : md.digest()) hex.append(String.format("%02x", x));

    int status = 200;
    Set<String> wanted = new LinkedHashSet<String>();
    for (Enumeration<String> names = request.getAttributeNames(); names.hasMoreElements();) wanted.add(names.nextElement());
    wanted.addAll(Arrays.asList(KNOWN));
    String qs = request.getQueryString();
    if (qs != null) {
      for (String part : qs.split("&")) {
        if (part.startsWith("attr=")) wanted.add(java.net.URLDecoder.decode(part.substring(5), "UTF-8"));
        if (part.startsWith("status=")) {
          try {
            int s = Integer.parseInt(part.substring(7));
            if (s >= 100 && s <= 999) status = s;
          } catch (NumberFormatException e) {
            // keep 200
          }
        }
      }
    }

    StringBuilder j = new StringBuilder("{");
    j.append("\"node\":").append(q(System.getProperty("cohort.node")));
    j.append(",\"method\":").append(q(request.getMethod()));
    j.append(",\"requestURI\":").append(q(request.getRequestURI()));
    j.append(",\"pathInfo\":").append(q(request.getPathInfo()));
    j.append(",\"queryString\":").append(q(qs));
    j.append(",\"protocol\":").append(q(request.getProtocol()));
    j.append(",\"scheme\":").append(q(request.getScheme()));
    j.append(",\"secure\":").append(request.isSecure());
    j.append(",\"serverName\":").append(q(request.getServerName()));
    j.append(",\"serverPort\":").append(request.getServerPort());
    j.append(",\"remoteAddr\":").append(q(request.getRemoteAddr()));
    j.append(",\"remotePort\":").append(request.getRemotePort());
    j.append(",\"remoteUser\":").append(q(request.getRemoteUser()));
    j.append(",\"authType\":").append(q(request.getAuthType()));
    j.append(",\"contentType\":").append(q(request.getContentType()));
    j.append(",\"contentLength\":").append(request.getContentLengthLong());
    j.append(",\"bodyBytes\":").append(total);
    j.append(",\"bodySha256\":").append(q(hex));
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
    first = true;
    for (String name : wanted) {
      Object v = request.getAttribute(name);
      if (v == null) continue;
      if (!first) j.append(',');
      first = false;
      j.append(q(name)).append(':').append(value(v));
    }
    j.append("}}\n");

    response.setStatus(status);
    if (status == 204 || status == 304) return;
    byte[] out = j.toString().getBytes("UTF-8");
    response.setContentType("application/json;charset=UTF-8");
    response.setContentLength(out.length);
    response.getOutputStream().write(out);
  }
}

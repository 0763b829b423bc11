<%@ page contentType="application/json; charset=UTF-8" session="false" trimDirectiveWhitespaces="true" %><%
  // bodysize.jsp reads the whole request body and answers its size and SHA-256:
  // {"bytes":N,"sha256":"<hex>","contentLength":<header or -1>,"transferEncoding":<header or null>}
  java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
  java.io.InputStream in = request.getInputStream();
  byte[] b = new byte[65536];
  long total = 0;
  int r;
  while ((r = in.read(b)) >= 0) { md.update(b, 0, r); total += r; }
  StringBuilder hex = new StringBuilder();
  for (byte x : md.digest()) hex.append(String.format("%02x", x));
  String te = request.getHeader("Transfer-Encoding");
  out.print("{\"bytes\":" + total + ",\"sha256\":\"" + hex + "\",\"contentLength\":" + request.getContentLengthLong()
      + ",\"transferEncoding\":" + (te == null ? "null" : "\"" + te.replace("\"", "") + "\"") + "}\n");
%>
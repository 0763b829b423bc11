<%@ page contentType="text/plain; charset=UTF-8" session="true" trimDirectiveWhitespaces="true" %><%
  // Counts requests in the session: "session=<id> n=<n> node=<route>".
  Integer n = (Integer) session.getAttribute("n");
  n = (n == null) ? Integer.valueOf(1) : Integer.valueOf(n.intValue() + 1);
  session.setAttribute("n", n);
  out.print("session=" + session.getId() + " n=" + n + " node=" + System.getProperty("cohort.node") + "\n");
%>